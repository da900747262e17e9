"""The suite's one web server: sign-in, a landing page, and the three apps at their own paths.

    /             landing page (apps the signed-in person's role may open; admin: accounts, audit)
    /login        sign-in form; /logout ends the session
    /dictation/   medical dictation (clinician, admin)
    /callcenter/  call-center supervisor dashboard (supervisor, admin)
    /tutor/       English tutor (teacher, student, admin)
    /healthz      liveness probe
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from contextlib import asynccontextmanager
from urllib.parse import quote

import gradio as gr
from fastapi import FastAPI, Form, Request
from sqlalchemy.exc import SQLAlchemyError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from apps.common.errors import DATABASE_BUSY
from apps.suite import pages, security
from apps.suite.registry import MOUNTED, register_apps
from core import accounts
from core.accounts import AccountError, User
from core.config import Settings, get_settings
from core.db import session_scope
from core.logs import job_context

COOKIE = "parlance_session"
AUDIT_PAGE = 50  # audit rows per page on the admin's landing page
LOGIN_COOKIE = "parlance_login"  # the sign-in form's anti-forgery token (double submit: cookie + field)
log = logging.getLogger(__name__)


def _token(request: Request) -> str | None:
    return request.cookies.get(COOKIE)


def current_user(request: Request) -> User | None:
    with session_scope() as s:
        return accounts.user_for_token(session=s, token=_token(request))


def _csrf(token: str | None) -> str:
    return hashlib.sha256(f"csrf:{token}".encode()).hexdigest()[:32]


def _safe_next(path: str | None) -> str:
    """Only same-site relative paths (no open redirects)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _lifespan(specs):
    """Processing (``core.tasks``) runs while the server runs: started with it, stopped on shutdown."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        from core.tasks import dispatcher

        start = get_settings().start_processing
        if start:
            dispatcher.start()
        try:
            yield
        finally:
            if start:
                dispatcher.stop()

    return lifespan


def build_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    specs = register_apps(MOUNTED)
    app = FastAPI(title="Parlance", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan(specs))
    mounts = {spec.path: (spec.app_id, spec.title) for spec in specs}

    @app.middleware("http")
    async def tag_request(request: Request, call_next):
        """Every log line written while serving a request carries its id (``req-…``)."""
        with job_context(f"req-{secrets.token_hex(4)}"):
            return await call_next(request)

    @app.middleware("http")
    async def guard_app_pages(request: Request, call_next):
        """Browsers opening an app without a session go to sign-in; wrong roles get a plain page."""
        path = request.url.path
        for prefix, (app_id, title) in mounts.items():
            if request.method == "GET" and path in (prefix, prefix + "/"):
                user = current_user(request)
                if user is None:
                    return RedirectResponse(f"/login?next={quote(prefix + '/')}", status_code=303)
                if not accounts.may_open(user, app_id):
                    return HTMLResponse(pages.forbidden_page(user=user, title=title), status_code=403)
        return await call_next(request)

    security.install(app, suite_paths=("/", "/login", "/logout", "/admin/users"))

    @app.exception_handler(SQLAlchemyError)
    async def database_trouble(request: Request, exc: SQLAlchemyError):
        """A locked or unreachable database: a plain page (never raw SQL), the traceback in the log."""
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return HTMLResponse(pages.message_page("The database is busy", DATABASE_BUSY), status_code=503,
                            headers={"Retry-After": "5"})

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True})

    def login_page(request: Request, *, next_path: str, error: str = "", status: int = 200,
                   headers: dict | None = None) -> HTMLResponse:
        """The sign-in form with its anti-forgery token (kept in a cookie; the form sends it back)."""
        token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = HTMLResponse(pages.login_page(next_path=next_path, error=error, csrf=token), status_code=status,
                                headers=headers)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=settings.cookie_secure)
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/"):  # noqa: A002
        return login_page(request, next_path=_safe_next(next))

    @app.post("/login")
    def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),  # noqa: A002
              csrf: str = Form("")):
        address = request.client.host if request.client else ""
        expected = request.cookies.get(LOGIN_COOKIE) or ""
        if not expected or not hmac.compare_digest(csrf, expected):
            log.info("sign-in form without a valid token from %s", address)
            return login_page(request, next_path=_safe_next(next), status=400,
                              error="The sign-in form had expired; please sign in again.")
        try:
            with session_scope() as s:
                user = accounts.authenticate(session=s, username=username, password=password, address=address)
                if user is None:
                    accounts.record_failed_sign_in(session=s, username=username[:64], address=address)
        except (accounts.SignInThrottled, accounts.SignInBusy) as exc:
            log.info("sign-in for %r from %s held back: %s", username[:64], address, exc)
            wait = str(exc.seconds) if isinstance(exc, accounts.SignInThrottled) else "5"
            status = 429 if isinstance(exc, accounts.SignInThrottled) else 503
            return login_page(request, next_path=_safe_next(next), error=str(exc), status=status,
                              headers={"Retry-After": wait})
        if user is None:
            return login_page(request, next_path=_safe_next(next), error="Wrong username or password.", status=401)
        with session_scope() as s:
            user = s.get(User, user.id)
            token = accounts.start_session(session=s, user=user, hours=settings.session_hours)
            accounts.record_audit(session=s, user=user, app="suite", action="login")
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.cookie_secure,
                            max_age=int(settings.session_hours * 3600))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.get("/logout")
    def logout_form(request: Request):
        """Signing out changes state, so it is a POST with the session's token (a link from another
        site cannot sign anyone out); this page holds the button."""
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse(pages.logout_page(user=user, csrf=_csrf(_token(request))))

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        if not hmac.compare_digest(csrf, _csrf(_token(request))):
            return RedirectResponse("/logout", status_code=303)
        with session_scope() as s:
            user = accounts.user_for_token(session=s, token=_token(request))
            accounts.end_session(session=s, token=_token(request))
            if user is not None:
                accounts.record_audit(session=s, user=user, app="suite", action="logout")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def _landing(request: Request, user: User, *, error: str = "", notice: str = "", status: int = 200):
        q = request.query_params
        page = q.get("page", "1")
        filters = pages.AuditFilters(app=q.get("audit_app", "")[:32], action=q.get("audit_action", "")[:32],
                                     username=q.get("audit_user", "")[:64],
                                     page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1)
        with session_scope() as s:
            audit = accounts.list_audit(session=s, app=filters.app or None, action=filters.action or None,
                                        username=filters.username or None, offset=(filters.page - 1) * AUDIT_PAGE,
                                        limit=AUDIT_PAGE) if user.role == accounts.ADMIN else []
        allowed = {spec.app_id for spec in specs if accounts.may_open(user, spec.app_id)}
        html = pages.landing_page(user=user, apps=specs, allowed=allowed, csrf=_csrf(_token(request)), audit=audit,
                                  error=error, notice=notice, filters=filters, page_size=AUDIT_PAGE)
        return HTMLResponse(html, status_code=status)

    @app.get("/", response_class=HTMLResponse)
    def landing(request: Request):
        user = current_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return _landing(request, user)

    def _admin_form(request: Request, csrf: str):
        """(the signed-in administrator, None), or (the person, the response refusing them): not signed
        in, not an administrator, or a form without this session's token."""
        user = current_user(request)
        if user is None:
            return None, RedirectResponse("/login", status_code=303)
        if user.role != accounts.ADMIN or not hmac.compare_digest(csrf, _csrf(_token(request))):
            return user, _landing(request, user, error="Only an administrator can manage accounts.", status=403)
        return user, None

    @app.post("/admin/users")
    def create_account(request: Request, username: str = Form(""), password: str = Form(""),
                       role: str = Form(""), display_name: str = Form(""), csrf: str = Form("")):
        user, refusal = _admin_form(request, csrf)
        if refusal is not None:
            return refusal
        try:
            with session_scope() as s:
                new = accounts.create_user(session=s, username=username, password=password, role=role,
                                           display_name=display_name)
                admin = s.get(User, user.id)
                accounts.record_audit(session=s, user=admin, app="suite", action="create", object_type="user",
                                      object_id=new.username, detail={"role": new.role})
        except AccountError as exc:
            return _landing(request, user, error=str(exc), status=400)
        return _landing(request, user, notice=f"Account '{new.username}' ({new.role}) created.")

    @app.post("/admin/accounts")
    def manage_account(request: Request, username: str = Form(""), action: str = Form(""), role: str = Form(""),
                       password: str = Form(""), csrf: str = Form("")):
        """The administrator deactivates or reactivates an account, ends its sessions, changes its role
        or resets its password (each audited; an administrator cannot lock themselves out)."""
        user, refusal = _admin_form(request, csrf)
        if refusal is not None:
            return refusal
        try:
            with session_scope() as s:
                target = accounts.get_user(session=s, username=username)
                if target is None:
                    raise AccountError(f"There is no account '{username.strip().lower()}'.")
                if target.id == user.id and action in ("deactivate", "role"):
                    raise AccountError("You cannot deactivate your own account or change your own role.")
                if action == "deactivate":
                    accounts.set_active(session=s, user=target, active=False)
                    notice = f"'{target.username}' is deactivated and signed out everywhere."
                elif action == "activate":
                    accounts.set_active(session=s, user=target, active=True)
                    notice = f"'{target.username}' can sign in again."
                elif action == "end_sessions":
                    n = accounts.end_all_sessions(session=s, user=target)
                    notice = f"Ended {n} session(s) of '{target.username}'."
                elif action == "role":
                    accounts.set_role(session=s, user=target, role=role)
                    notice = f"'{target.username}' is now {target.role} (from their next sign-in)."
                elif action == "reset_password":
                    accounts.set_password(session=s, user=target, password=password)
                    accounts.end_all_sessions(session=s, user=target)
                    accounts.unlock(session=s, username=target.username)
                    notice = f"New password set for '{target.username}'; they are signed out everywhere."
                else:
                    raise AccountError("Choose what to do with the account.")
                accounts.record_audit(session=s, user=s.get(User, user.id), app="suite", action=action[:32],
                                      object_type="user", object_id=target.username,
                                      detail={"role": target.role} if action == "role" else {})
        except AccountError as exc:
            return _landing(request, user, error=str(exc), status=400)
        return _landing(request, user, notice=notice)

    def auth_dependency_for(app_id: str):
        def dependency(request: Request) -> str | None:
            user = current_user(request)
            return user.username if accounts.may_open(user, app_id) else None

        return dependency

    def username_of(request: Request) -> str | None:
        user = current_user(request)
        return user.username if user is not None else None

    for spec in specs:  # each app's own download routes, before its page is mounted at the same prefix
        router = spec.file_routes(username_of)
        if router is not None:
            app.include_router(router, prefix=f"{spec.path}/files")
    for spec in specs:
        gr.mount_gradio_app(app, spec.build_ui(), path=spec.path, auth_dependency=auth_dependency_for(spec.app_id),
                            max_file_size=f"{settings.max_upload_mb}mb", footer_links=[], ssr_mode=False)
    return app
