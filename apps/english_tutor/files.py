"""Downloads of the tutor, served by the suite at ``/tutor/files/`` (not by Gradio's file cache):
every request checks the signed-in person again — a student gets only their own recordings, a
teacher those of their classes' students and their classes' CSV.

    GET /tutor/files/attempt-42/audio      the recording of attempt 42 (for the player)
    GET /tutor/files/class-3.csv           every attempt of class 3, one row each
"""
from __future__ import annotations

import logging
import mimetypes
from typing import Callable

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse

from apps.english_tutor import service

log = logging.getLogger(__name__)


def audio_url(prefix: str, attempt_id: int) -> str:
    return f"{prefix}/files/attempt-{int(attempt_id)}/audio"


def csv_url(prefix: str, class_id: int) -> str:
    return f"{prefix}/files/class-{int(class_id)}.csv"


def build_router(user_of: Callable[[Request], str | None]) -> APIRouter:
    router = APIRouter()

    @router.get("/attempt-{attempt_id}/audio")
    def audio(attempt_id: int, request: Request) -> Response:
        username = user_of(request)
        if username is None:
            return PlainTextResponse("Please sign in.", status_code=401)
        try:
            path = service.attempt_audio(username=username, attempt_id=attempt_id)
        except service.TutorError as exc:  # another student's attempt reads exactly like a missing one
            log.info("download refused: %s", exc, exc_info=True)
            return PlainTextResponse(str(exc), status_code=404)
        if not path.is_file():
            log.error("attempt %s: stored recording %s is missing", attempt_id, path)
            return PlainTextResponse("The recording is missing from the server.", status_code=404)
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-store"})

    @router.get("/class-{class_id}.csv")
    def class_csv(class_id: int, request: Request) -> Response:
        username = user_of(request)
        if username is None:
            return PlainTextResponse("Please sign in.", status_code=401)
        try:
            body = service.export_csv(username=username, class_id=class_id)
        except service.TutorError as exc:
            log.info("download refused: %s", exc, exc_info=True)
            return PlainTextResponse(str(exc), status_code=404)
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="class-{class_id}.csv"', "Cache-Control": "no-store"})

    return router
