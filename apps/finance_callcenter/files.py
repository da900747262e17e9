"""Downloads of the call-center, served by the suite at ``/callcenter/files/`` (not by Gradio's
file cache): every request checks the signed-in person's role again; nothing is copied to a
temporary folder, so nothing is left behind.

    GET /callcenter/files/audio/42                        the recording of call 42 (for the player)
    GET /callcenter/files/calls.csv?days=7&queue=cards    the analytics export, one row per turn
"""
from __future__ import annotations

import logging
import mimetypes
from typing import Callable
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, PlainTextResponse

from apps.finance_callcenter import analytics, service

log = logging.getLogger(__name__)


def audio_url(prefix: str, call_id: int) -> str:
    return f"{prefix}/files/audio/{int(call_id)}"


def csv_url(prefix: str, **filters) -> str:
    query = urlencode({k: v for k, v in filters.items() if v not in (None, "")})
    return f"{prefix}/files/calls.csv" + (f"?{query}" if query else "")


def build_router(user_of: Callable[[Request], str | None]) -> APIRouter:
    router = APIRouter()

    @router.get("/audio/{call_id}")
    def audio(call_id: int, request: Request) -> Response:
        username = user_of(request)
        if username is None:
            return PlainTextResponse("Please sign in.", status_code=401)
        try:
            path, filename = service.call_recording(call_id, username=username)
        except service.CallCenterError as exc:
            log.info("playback refused: %s", exc, exc_info=True)
            return PlainTextResponse(str(exc), status_code=404)
        media = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return FileResponse(path, media_type=media, headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"})

    @router.get("/calls.csv")
    def calls_csv(request: Request, days: int | None = None, queue: str | None = None,
                  intent: str | None = None) -> Response:
        username = user_of(request)
        if username is None:
            return PlainTextResponse("Please sign in.", status_code=401)
        try:
            text = analytics.export_csv(username=username, days=days, queue=queue, intent=intent)
        except service.CallCenterError as exc:
            log.info("export refused: %s", exc, exc_info=True)
            return PlainTextResponse(str(exc), status_code=403)
        return Response(text, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="calls.csv"', "Cache-Control": "no-store"})

    return router
