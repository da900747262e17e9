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
from contextlib import contextmanager
import json
import secrets
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import throttle
from core.db import Base, utcnow

MIN_PASSWORD_LENGTH = 10
HASH_SLOTS = 2  # password hashes computed at once (one per core); more wait
HASH_WAIT_S = 10.0  # a sign-in waits this long for a slot, then is told to try again
_hasher = PasswordHasher()  # argon2id, 64 MiB, 3 passes: OWASP-recommended parameters
_DUMMY_HASH = _hasher.hash("parlance-timing-equaliser")
_hash_slots = threading.BoundedSemaphore(HASH_SLOTS)


ADMIN = "admin"  # the one role the core knows: may open every app and manage accounts
_app_roles: dict[str, frozenset[str]] = {}  # app id -> roles (besides admin) that may open it
_registry_lock = threading.Lock()


class AccountError(ValueError):
    """A plain-language problem with an account request."""


class SignInThrottled(AccountError):
    """Too many failed sign-ins for this account name or from this address: wait ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds = max(1, round(seconds))
        super().__init__(f"Too many failed sign-ins for this account or from this address; "
                         f"please wait {self.seconds} seconds and try again.")


class SignInBusy(AccountError):
    """Every password-check slot is taken; try again shortly."""


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)  # unused since core.throttle (kept for old rows)
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


COMMON_PASSWORDS = Path(__file__).with_name("resources") / "common_passwords.txt"
_SEQUENCES = ("01234567890", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm")  # runs, either way


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


def check_password_strength(password: str, *, username: str = "") -> None:
    """A password must have MIN_PASSWORD_LENGTH characters, 4 different ones, and not be (or be
    built on) a common password, the account's name or a keyboard/alphabet run."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if password.strip() != password or len(set(password)) < 4:
        raise AccountError("The password is too simple (no leading/trailing spaces, at least 4 different characters).")
    low = password.lower()
    forms = {low, low.strip("0123456789!@#$%^&*()_+-=.,?~ ")} - {""}  # as typed, and its stem without decorations
    name = (username or "").strip().lower()
    if forms & _common_passwords() or (len(name) >= 4 and name in low):
        raise AccountError("That password is one of the first that guessing tools try (or contains the "
                           "username); choose another, e.g. a few unrelated words.")
    if any(len(f) >= 6 and (f in run or f in run[::-1]) for f in forms for run in _SEQUENCES):
        raise AccountError("That password is a run of keys or letters; choose another, e.g. a few unrelated words.")


def create_user(
    *, session: Session, username: str, password: str, role: str, display_name: str = ""
) -> User:
    name = _clean_username(username)
    role = str(role or "").strip().lower()
    if role not in known_roles():
        raise AccountError(f"Unknown role '{role}'. Roles: {', '.join(known_roles())}.")
    check_password_strength(password, username=name)
    if session.scalar(select(User).where(User.username == name)) is not None:
        raise AccountError(f"The username '{name}' is taken.")
    with _hash_slot():
        hashed = _hasher.hash(password)
    user = User(username=name, display_name=display_name.strip() or name, password_hash=hashed, role=role)
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == (username or "").strip().lower()))


def count_users(*, session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def set_password(*, session: Session, user: User, password: str) -> None:
    check_password_strength(password, username=user.username)
    with _hash_slot():
        user.password_hash = _hasher.hash(password)
    session.flush()


def authenticate(*, session: Session, username: str, password: str, address: str = "") -> User | None:
    """The user when the password matches an active account; else None. Raises ``SignInThrottled``
    while this account name or this address must wait (core.throttle: growing delays, no hard
    lock), and ``SignInBusy`` when too many passwords are being checked at once.

    Every attempt that is not throttled runs the full password check, for unknown, inactive and
    known accounts alike, so the answer's timing says nothing about which usernames exist.
    """
    wait = throttle.wait_seconds(session=session, username=username, address=address)
    if wait > 0:
        raise SignInThrottled(wait)
    user = get_user(session=session, username=username)
    with _hash_slot():
        try:
            _hasher.verify(user.password_hash if user is not None else _DUMMY_HASH, password or "")
            matched = user is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        if matched and _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
    if not matched or not user.is_active:
        throttle.record_failure(session=session, username=username, address=address)
        if user is not None:
            user.failed_logins += 1
            session.flush()
        return None
    for key in throttle.keys(username, address):
        throttle.clear(session=session, key=key)
    user.failed_logins = 0
    user.last_login_at = utcnow()
    session.flush()
    return user


def unlock(*, session: Session, username: str = "", address: str = "") -> bool:
    """An administrator lifts the sign-in delay of an account name and/or an address."""
    done = False
    if username:
        done |= throttle.clear(session=session, key=throttle.user_key(username))
        user = get_user(session=session, username=username)
        if user is not None:
            user.failed_logins = 0
            done = True
    if address:
        done |= throttle.clear(session=session, key=throttle.address_key(address))
    session.flush()
    return done


@contextmanager
def _hash_slot():
    """At most HASH_SLOTS password hashes at once (Argon2id takes 64 MiB and ~0.1 s each: 30 parallel
    sign-ins used to take the server from 1.8 to 2.7 GB and stall it)."""
    if not _hash_slots.acquire(timeout=HASH_WAIT_S):
        raise SignInBusy("Too many sign-ins at once; please try again in a few seconds.")
    try:
        yield
    finally:
        _hash_slots.release()


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


def list_audit(*, session: Session, app: str | None = None, action: str | None = None, username: str | None = None,
               offset: int = 0, limit: int = 100) -> list[AuditEvent]:
    """Newest first, filtered by app, action and/or username, a page at a time."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).offset(max(0, offset)).limit(limit)
    if app:
        query = query.where(AuditEvent.app == app)
    if action:
        query = query.where(AuditEvent.action == action)
    if username:
        query = query.where(AuditEvent.username == username.strip().lower())
    return list(session.scalars(query))


UNKNOWN_FAILURES_WINDOW = timedelta(hours=1)


def record_failed_sign_in(*, session: Session, username: str, address: str) -> AuditEvent:
    """A failed sign-in in the audit log. For an existing account: one row each (someone is trying
    that account). For names no account has: one row per address and hour, counting them, so a
    guessing script cannot flood the log."""
    user = get_user(session=session, username=username)
    if user is not None:
        return record_audit(session=session, user=None, app="suite", action="login_failed", object_type="user",
                            object_id=user.username, detail={"ip": address})
    since = utcnow() - UNKNOWN_FAILURES_WINDOW
    row = session.scalar(select(AuditEvent).where(AuditEvent.action == "login_failed_unknown",
                                                  AuditEvent.object_id == address[:64], AuditEvent.at >= since)
                         .order_by(AuditEvent.id.desc()).limit(1))
    if row is None:
        return record_audit(session=session, user=None, app="suite", action="login_failed_unknown",
                            object_type="address", object_id=address[:64], detail={"attempts": 1})
    detail = json.loads(row.detail or "{}")
    row.detail = json.dumps({"attempts": int(detail.get("attempts", 0)) + 1})
    session.flush()
    return row


# -- administration ----------------------------------------------------------------------------------
def end_all_sessions(*, session: Session, user: User) -> int:
    """Sign the user out everywhere; returns how many sessions were open."""
    rows = list(session.scalars(select(AuthSession).where(AuthSession.user_id == user.id,
                                                          AuthSession.revoked.is_(False))))
    for row in rows:
        row.revoked = True
    session.flush()
    return len(rows)


def set_active(*, session: Session, user: User, active: bool) -> None:
    """Deactivate (signed out everywhere, cannot sign in) or reactivate an account."""
    user.is_active = active
    if not active:
        end_all_sessions(session=session, user=user)
    session.flush()


def set_role(*, session: Session, user: User, role: str) -> None:
    role = str(role or "").strip().lower()
    if role not in known_roles():
        raise AccountError(f"Unknown role '{role}'. Roles: {', '.join(known_roles())}.")
    user.role = role
    end_all_sessions(session=session, user=user)  # the new role applies from the next sign-in
    session.flush()


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


def user_who_may_open(*, session: Session, username: str | None, app_id: str) -> User | None:
    """The account ``username`` names, if it exists, is active and its role may use ``app_id``;
    what every app's service checks before acting for a person."""
    user = get_user(session=session, username=username or "")
    return user if may_open(user, app_id) else None


def may_open(user: User | None, app_id: str) -> bool:
    """Admins open every app; others the apps that declared their role."""
    if user is None or not user.is_active:
        return False
    return user.role == ADMIN or user.role in registered_apps().get(app_id, frozenset())
