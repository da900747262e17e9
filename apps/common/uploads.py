"""The one check every file path a client sends goes through, before anything reads it.

The suite mounts its Gradio apps with ``gr.mount_gradio_app``, which never marks them launched,
so Gradio skips its own "only files uploaded here" check and hands a handler whatever path the
request names (``/etc/passwd``, the SQLite file, another clinician's archived recording). Every
handler that takes a file calls ``checked_upload`` first: the path must resolve (symbolic links
followed) to a regular file inside Gradio's upload folder. The refusal is the same sentence
whether or not the path exists, so it reveals nothing; the log keeps the attempted path.

>>> checked_upload("/etc/passwd")                     # doctest: +SKIP
Traceback (most recent call last):
UploadRefused: That file was not uploaded here. Please upload it again.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
REFUSAL = "That file was not uploaded here. Please upload it again."


class UploadRefused(ValueError):
    """A client named a file that is not one of its uploads; the message is for the person."""


def upload_root() -> Path:
    """Gradio's upload folder (``GRADIO_TEMP_DIR`` or the system temp dir's ``gradio``), resolved."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def _as_path(value: Any) -> str:
    """A Gradio file value: a path string, or an object/dict carrying one (``path`` or ``name``)."""
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, dict):
        return str(value.get("path") or value.get("name") or "")
    return str(getattr(value, "path", None) or getattr(value, "name", None) or "")


def checked_upload(value: Any) -> Path:
    """The uploaded file ``value`` names, resolved, if it is a regular file inside the upload folder;
    else ``UploadRefused`` (the same message in every case)."""
    raw = _as_path(value)
    root = upload_root()
    try:
        path = Path(raw).resolve(strict=True) if raw else None
    except (OSError, RuntimeError):  # missing, a link loop, unreadable: refused like any foreign path
        path = None
    if path is None or not path.is_relative_to(root) or path == root or not path.is_file():
        log.warning("refused a file path that is not an upload: %r", raw[:300])
        raise UploadRefused(REFUSAL)
    return path
