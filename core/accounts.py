"""The suite's one sign-in: accounts with roles, sign-in sessions, and the audit log apps write to.

Passwords are hashed with Argon2id (salted, deliberately slow). Sessions are random tokens; only
their SHA-256 is stored, so a database leak does not hand out live sessions.

Roles: the core knows only ``admin`` (who may open everything). Each app declares its own roles
and its app id, and the suite registers them (``register_app``) before serving; a role no
registered app declares is refused when an account is created.
"""
from __future__ import annotations

import hashlib
import threading
import json
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow

MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5  # then the account is locked for LOCKOUT
LOCKOUT = timedelta(minutes=15)
_hasher = PasswordHasher()  # argon2id, 64 MiB, 3 passes: OWASP-recommended parameters
_DUMMY_HASH = _hasher.hash("parlance-timing-equaliser")


ADMIN = "admin"  # the one role the core knows: may open every app and manage accounts
_app_roles: dict[str, frozenset[str]] = {}  # app id -> roles (besides admin) that may open it
_registry_lock = threading.Lock()


class AccountError(ValueError):
    """A plain-language problem with an account request."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class AuthSession(Base):
    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked: Mapped[bool] = mapped_column(default=False)


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str] = mapped_column(String(64), default="")  # kept if the user is deleted
    app: Mapped[str] = mapped_column(String(32), index=True)  # "suite" or the app id the app declares
    action: Mapped[str] = mapped_column(String(32))  # "read", "create", "update", "sign", "login", ...
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")  # JSON


# -- accounts ------------------------------------------------------------------------------------
def _clean_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError("A username needs 3-64 letters, digits or . _ - @")
    return name


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip() != password or len(set(password)) < 4:
        raise AccountError("The password is too simple (no leading/trailing spaces, at least 4 different characters).")


def create_user(
    *, session: Session, username: str, password: str, role: str, display_name: str = ""
) -> User:
    name = _clean_username(username)
    role = str(role or "").strip().lower()
    if role not in known_roles():
        raise AccountError(f"Unknown role '{role}'. Roles: {', '.join(known_roles())}.")
    check_password_strength(password)
    if session.scalar(select(User).where(User.username == name)) is not None:
        raise AccountError(f"The username '{name}' is taken.")
    user = User(username=name, display_name=display_name.strip() or name,
                password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == (username or "").strip().lower()))


def count_users(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_password(*, session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    session.flush()


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The user when the password matches an active, unlocked account; else None.

    Unknown usernames cost the same hash work as known ones (no user enumeration by timing).
    """
    user = get_user(session=session, username=username)
    if user is None:
        try:
            _hasher.verify(_DUMMY_HASH, password or "")
        except VerificationError:
            pass
        return None
    now = utcnow()
    locked_until = user.locked_until
    if not user.is_active or (locked_until and locked_until > now):
        return None
    try:
        _hasher.verify(user.password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
        session.flush()
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.flush()
    return user


def bootstrap_admin(*, session: Session, password: str | None = None, username: str = "admin") -> str | None:
    """First run: when no account exists, create an admin and return its password (generated when
    none is given). Returns None when accounts already exist."""
    if count_users(session=session) > 0:
        return None
    password = password or secrets.token_urlsafe(12)
    create_user(session=session, username=username, password=password, role=ADMIN,
                display_name="Administrator")
    record_audit(session=session, user=None, app="suite", action="bootstrap_admin", object_type="user",
                 object_id=username)
    return password


# -- sessions ------------------------------------------------------------------------------------
def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user: User, hours: float) -> str:
    """A new sign-in session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(AuthSession(token_hash=_hash_token(token), user_id=user.id,
                            expires_at=utcnow() + timedelta(hours=hours)))
    session.flush()
    return token


def user_for_token(*, session: Session, token: str | None) -> User | None:
    if not token:
        return None
    row = session.get(AuthSession, _hash_token(token))
    if row is None or row.revoked or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.is_active else None


def end_session(*, session: Session, token: str | None) -> None:
    if token:
        row = session.get(AuthSession, _hash_token(token))
        if row is not None:
            row.revoked = True
            session.flush()


# -- audit -----------------------------------------------------------------------------------------
def record_audit(
    *, session: Session, user: User | None, app: str, action: str,
    object_type: str = "", object_id: str | int = "", detail: dict | None = None,
) -> AuditEvent:
    event = AuditEvent(
        user_id=user.id if user else None, username=user.username if user else "",
        app=app, action=action, object_type=object_type, object_id=str(object_id),
        detail=json.dumps(detail or {}, default=str),
    )
    session.add(event)
    session.flush()
    return event


def list_audit(*, session: Session, app: str | None = None, limit: int = 100) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if app:
        query = query.where(AuditEvent.app == app)
    return list(session.scalars(query))


# -- roles and apps ------------------------------------------------------------------------------
def register_app(app_id: str, roles: tuple[str, ...] | frozenset[str]) -> None:
    """An app declares which roles (besides admin) may open it; the suite calls this for each app
    it mounts. Registering the same app again replaces its roles."""
    with _registry_lock:
        _app_roles[app_id] = frozenset(r.lower() for r in roles)


def registered_apps() -> dict[str, frozenset[str]]:
    with _registry_lock:
        return dict(_app_roles)


def known_roles() -> tuple[str, ...]:
    """admin first, then every role a registered app declares (sorted)."""
    with _registry_lock:
        return (ADMIN, *sorted({r for roles in _app_roles.values() for r in roles} - {ADMIN}))


def may_open(user: User | None, app_id: str) -> bool:
    """Admins open every app; others the apps that declared their role."""
    if user is None or not user.is_active:
        return False
    return user.role == ADMIN or user.role in registered_apps().get(app_id, frozenset())
