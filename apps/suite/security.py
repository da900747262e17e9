"""The suite's browser-facing protections, on every response of the parent app (the mounted Gradio
apps included):

- **Same origin only.** Gradio answers any localhost origin with credentials, so another local
  site could read the API with the user's cookie. A request whose ``Origin`` is not this server's
  own gets no CORS grant (the browser keeps the response from the other site), and if it would
  change anything (POST, PUT, PATCH, DELETE) it is refused outright: a cross-site request forgery.
- **No framing, no sniffing.** ``X-Frame-Options: DENY`` and ``frame-ancestors 'none'`` on every
  page; a strict Content-Security-Policy on the suite's own pages (sign-in, landing, admin), which
  load nothing from elsewhere; ``nosniff``; ``Referrer-Policy: same-origin``.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

log = logging.getLogger(__name__)
CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-expose-headers")
SUITE_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
             "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def same_origin(request: Request) -> bool:
    """No Origin header (same-origin navigation, curl, API clients), or one naming this very host and
    port (as the browser reached it: ``Host``, or ``X-Forwarded-Host`` behind a TLS proxy; a page on
    another site cannot set that header without a preflight, which is refused)."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    if origin.lower() == "null":
        return False
    hosts = {request.headers.get("host", "").lower(), request.headers.get("x-forwarded-host", "").lower()} - {""}
    return urlsplit(origin).netloc.lower() in hosts


def install(app: FastAPI, suite_paths: tuple[str, ...]) -> None:
    """Add the middleware; ``suite_paths`` are the suite's own HTML pages (strict CSP)."""

    @app.middleware("http")
    async def protect(request: Request, call_next):
        foreign = not same_origin(request)
        if foreign and (request.method in CHANGING or request.method == "OPTIONS"):
            log.warning("refused a cross-site %s %s from %s", request.method, request.url.path,
                        request.headers.get("origin"))
            return PlainTextResponse("Cross-site requests are not allowed.", status_code=403)
        response = await call_next(request)
        if foreign:
            for name in CORS_HEADERS:
                if name in response.headers:
                    del response.headers[name]
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.url.path in suite_paths:
            response.headers["Content-Security-Policy"] = SUITE_CSP
        else:
            response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        return response
