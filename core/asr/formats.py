"""Transcript -> text formats: plain text, JSON, SubRip (SRT) and WebVTT."""
from __future__ import annotations

import json

from core.asr.types import Transcript

FORMATS = ("txt", "json", "srt", "vtt")


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def to_txt(t: Transcript) -> str:
    return "\n".join(s.text for s in t.segments) + ("\n" if t.segments else "")


def to_json(t: Transcript) -> str:
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=2) + "\n"


def to_srt(t: Transcript) -> str:
    blocks = [
        f"{i}\n{_stamp(s.start, ',')} --> {_stamp(s.end, ',')}\n{s.text}\n"
        for i, s in enumerate(t.segments, 1)
    ]
    return "\n".join(blocks)


def to_vtt(t: Transcript) -> str:
    blocks = [f"{_stamp(s.start, '.')} --> {_stamp(s.end, '.')}\n{s.text}\n" for s in t.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(t: Transcript, fmt: str) -> str:
    try:
        return {"txt": to_txt, "json": to_json, "srt": to_srt, "vtt": to_vtt}[fmt](t)
    except KeyError:
        raise ValueError(f"Unknown format '{fmt}'; choose one of {', '.join(FORMATS)}") from None
