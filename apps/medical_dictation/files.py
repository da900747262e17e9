"""Downloads of signed notes, served by the suite at ``/dictation/files/`` (not by Gradio's file
cache): every request is checked against the signed-in clinician, who only ever gets their own
notes; nothing is written to disk, so no copy is left behind.

    GET /dictation/files/note-12.txt    the signed note as text
    GET /dictation/files/note-12.json   the signed note as a FHIR R4 DocumentReference
"""
from __future__ import annotations

import json
import logging
from typing import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from apps.medical_dictation import service

log = logging.getLogger(__name__)
FORMATS = {"txt": ("text", "text/plain; charset=utf-8"), "json": ("fhir", "application/fhir+json")}


def note_url(prefix: str, encounter_id: int, fmt: str) -> str:
    """Where the UI links to: ``fmt`` "text" or "fhir"."""
    return f"{prefix}/files/note-{int(encounter_id)}.{'json' if fmt == 'fhir' else 'txt'}"


def build_router(user_of: Callable[[Request], str | None]) -> APIRouter:
    router = APIRouter()

    @router.get("/note-{encounter_id}.{ext}")
    def note(encounter_id: int, ext: str, request: Request) -> Response:
        username = user_of(request)
        if username is None:
            return PlainTextResponse("Please sign in.", status_code=401)
        if ext not in FORMATS:
            return PlainTextResponse("Unknown format.", status_code=404)
        fmt, media = FORMATS[ext]
        try:
            out = service.export(username=username, encounter_id=encounter_id, fmt=fmt)
        except service.DictationError as exc:  # another clinician's note reads exactly like a missing one
            log.info("download refused: %s", exc, exc_info=True)
            return PlainTextResponse(str(exc), status_code=404)
        body = json.dumps(out, indent=2) if isinstance(out, dict) else out
        return Response(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="note-{encounter_id}.{ext}"', "Cache-Control": "no-store"})

    return router
