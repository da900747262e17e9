"""CSV exports that a spreadsheet opens safely: every string cell that a spreadsheet would read as
a formula (OWASP "CSV injection") is prefixed with a quote."""
from __future__ import annotations

import csv
import io
from typing import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula


def safe_cell(text: str) -> str:
    """One starting with = + - @, a tab or a carriage return is prefixed with '."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: Iterable[list]) -> str:
    """The CSV text of ``rows`` under ``header``, every string cell guarded."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    for row in rows:
        w.writerow([safe_cell(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()
