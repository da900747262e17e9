"""HTML of the suite's own pages: sign-in, landing, admin. Every value is escaped."""
from __future__ import annotations

import logging

import html
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from apps.common.app_spec import AppSpec
from core.accounts import ADMIN, AuditEvent, User, known_roles

log = logging.getLogger(__name__)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f5f6f8;color:#1d2430}
header{background:#1f3a5f;color:#fff;padding:14px 28px;display:flex;justify-content:space-between;align-items:center}
header a{color:#dfe8f5} main{max-width:980px;margin:28px auto;padding:0 20px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:18px}
.card{background:#fff;border-radius:10px;padding:20px;box-shadow:0 1px 3px #0002}
.card a.open{display:inline-block;margin-top:10px;background:#1f6feb;color:#fff;padding:8px 14px;border-radius:6px;text-decoration:none}
.card.locked{opacity:.55} .msg{padding:10px 14px;border-radius:6px;margin-bottom:16px}
.err{background:#fde8e8;color:#8a1c1c} .ok{background:#e6f4ea;color:#1e5631}
form.login{background:#fff;max-width:360px;margin:60px auto;padding:28px;border-radius:10px;box-shadow:0 1px 3px #0002}
input,select{width:100%;padding:8px;margin:4px 0 12px;box-sizing:border-box;border:1px solid #c8ccd2;border-radius:6px}
button{background:#1f6feb;color:#fff;border:0;padding:9px 16px;border-radius:6px;cursor:pointer}
table{width:100%;border-collapse:collapse;background:#fff} td,th{padding:6px 8px;border-bottom:1px solid #e3e6ea;font-size:14px;text-align:left}
"""


def _page(title: str, body: str, user: User | None = None) -> str:
    who = ""
    if user is not None:
        who = (f"<span>{html.escape(user.display_name)} ({html.escape(user.role)}) · "
               f"<a href='/logout'>Sign out</a></span>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{html.escape(title)} · Parlance</title><style>{_CSS}</style></head><body>"
            f"<header><strong>Parlance</strong>{who}</header><main>{body}</main></body></html>")


def login_page(*, next_path: str = "/", error: str = "", notice: str = "", csrf: str = "") -> str:
    msg = (f"<div class='msg err'>{html.escape(error)}</div>" if error else "") + (
        f"<div class='msg ok'>{html.escape(notice)}</div>" if notice else "")
    body = (f"<form class='login' method='post' action='/login'><h2>Sign in</h2>{msg}"
            f"<input type='hidden' name='next' value='{html.escape(next_path, quote=True)}'>"
            f"<input type='hidden' name='csrf' value='{html.escape(csrf, quote=True)}'>"
            "<label>Username<input name='username' autocomplete='username' required autofocus></label>"
            "<label>Password<input name='password' type='password' autocomplete='current-password' required></label>"
            "<button type='submit'>Sign in</button></form>")
    return _page("Sign in", body)


@dataclass(frozen=True)
class AuditFilters:
    app: str = ""  # only this app's events ("" = all)
    action: str = ""  # only this action ("login_failed", "export", ...)
    username: str = ""  # only this person's events
    page: int = 1  # 1-based


def landing_page(*, user: User, apps: tuple[AppSpec, ...], allowed: set[str], csrf: str,
                 audit: list[AuditEvent], error: str = "", notice: str = "",
                 filters: AuditFilters = AuditFilters(), page_size: int = 50) -> str:
    cards = []
    for spec in apps:
        title, blurb = spec.title, spec.blurb
        if spec.app_id in allowed:
            link = f"<a class='open' href='{spec.path}/'>Open</a>"
            cls = "card"
        else:
            link = "<p><em>Your role cannot open this app.</em></p>"
            cls = "card locked"
        cards.append(f"<div class='{cls}'><h3>{html.escape(title)}</h3><p>{html.escape(blurb)}</p>{link}</div>")
    msg = (f"<div class='msg err'>{html.escape(error)}</div>" if error else "") + (
        f"<div class='msg ok'>{html.escape(notice)}</div>" if notice else "")
    body = f"{msg}<h2>Apps</h2><div class='cards'>{''.join(cards)}</div>"
    if user.role == ADMIN:
        body += _admin_section(csrf, audit, filters, page_size)
    return _page("Home", body, user)


def _admin_section(csrf: str, audit: list[AuditEvent], filters: AuditFilters, page_size: int) -> str:
    roles = "<option value='' disabled selected>Choose a role</option>" + "".join(
        f"<option value='{html.escape(r)}'>{html.escape(r)}</option>" for r in known_roles())
    rows = "".join(
        f"<tr><td>{e.at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(e.username or '-')}</td>"
        f"<td>{html.escape(e.app)}</td><td>{html.escape(e.action)}</td>"
        f"<td>{html.escape(e.object_type)} {html.escape(e.object_id)}</td>"
        f"<td>{html.escape(_short(e.detail))}</td></tr>"
        for e in audit
    )
    return (
        "<h2>Accounts</h2><div class='card'><form method='post' action='/admin/users'>"
        f"<input type='hidden' name='csrf' value='{html.escape(csrf)}'>"
        "<label>Username<input name='username' required></label>"
        "<label>Full name<input name='display_name'></label>"
        f"<label>Role<select name='role' required>{roles}</select></label>"
        "<label>Password (at least 10 characters)<input name='password' type='password' required></label>"
        "<button type='submit'>Create account</button></form></div>"
        "<h2>Manage an account</h2><div class='card'><form method='post' action='/admin/accounts'>"
        f"<input type='hidden' name='csrf' value='{html.escape(csrf)}'>"
        "<label>Username<input name='username' required></label>"
        "<label>Action<select name='action' required><option value='' disabled selected>Choose</option>"
        "<option value='deactivate'>Deactivate (and sign out everywhere)</option>"
        "<option value='activate'>Reactivate</option><option value='end_sessions'>End all sessions</option>"
        "<option value='role'>Change role to ...</option><option value='reset_password'>Reset password to ...</option>"
        f"</select></label><label>New role<select name='role'>{roles}</select></label>"
        "<label>New password<input name='password' type='password'></label>"
        "<button type='submit'>Apply</button></form>"
        "<p>A sign-in delay after repeated wrong passwords lifts by itself; to lift it at once: "
        "<code>python -m apps.suite unlock USERNAME [--address IP]</code>.</p></div>"
        f"<h2>Audit log</h2>{_audit_filters(filters)}<table><tr><th>When (UTC)</th><th>Who</th><th>App</th>"
        f"<th>Action</th><th>Object</th><th>Detail</th></tr>{rows}</table>{_audit_pages(filters, len(audit), page_size)}"
    )


def _audit_filters(f: AuditFilters) -> str:
    field = lambda name, label, value: (f"<label>{label}<input name='{name}' "  # noqa: E731
                                        f"value='{html.escape(value, quote=True)}'></label>")
    return ("<form method='get' action='/' class='card'>" + field("audit_app", "App", f.app)
            + field("audit_action", "Action (e.g. login_failed)", f.action) + field("audit_user", "Who", f.username)
            + "<button type='submit'>Filter</button></form>")


def _audit_pages(f: AuditFilters, shown: int, page_size: int) -> str:
    def link(page: int, text: str) -> str:
        query = urlencode({k: v for k, v in (("audit_app", f.app), ("audit_action", f.action),
                                             ("audit_user", f.username), ("page", page)) if v})
        return f"<a href='/?{html.escape(query, quote=True)}'>{text}</a>"

    parts = [link(f.page - 1, "Newer")] if f.page > 1 else []
    parts.append(f"page {f.page}")
    if shown == page_size:
        parts.append(link(f.page + 1, "Older"))
    return "<p>" + " · ".join(parts) + "</p>"


def _short(detail: str) -> str:
    try:
        data = json.loads(detail)
    except ValueError:  # an audit detail written before details were JSON
        log.debug("audit detail is not JSON: %r", detail[:80], exc_info=True)
        return detail[:80]
    return ", ".join(f"{k}={v}" for k, v in data.items())[:80] if data else ""


def message_page(title: str, message: str) -> str:
    """A page with one plain sentence (errors the person can do nothing about but wait)."""
    return _page(title, f"<div class='msg err'>{html.escape(message)}</div><a href='/'>Back</a>")


def logout_page(*, user: User, csrf: str) -> str:
    body = ("<form class='login' method='post' action='/logout'><h2>Sign out</h2>"
            f"<p>Signed in as {html.escape(user.display_name)}.</p>"
            f"<input type='hidden' name='csrf' value='{html.escape(csrf, quote=True)}'>"
            "<button type='submit'>Sign out</button> <a href='/'>Back</a></form>")
    return _page("Sign out", body, user)


def forbidden_page(*, user: User, title: str) -> str:
    body = (f"<div class='msg err'>Your role ({html.escape(user.role)}) cannot open "
            f"{html.escape(title)}. Ask an administrator if you need access.</div><a href='/'>Back</a>")
    return _page("Not allowed", body, user)
