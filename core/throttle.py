"""Sign-in throttling: growing delays per account name and per network address, never a hard lock.

A hard lock let anyone lock anyone out (the admin included) by failing five times. Here each key
("user:<name>", "ip:<address>") may fail ``FREE_FAILURES`` times; every further failure makes the
key wait twice as long as the last (2 s, 4 s, 8 s, ...), up to a cap: short for an account name
(``USER_MAX_DELAY_S``: guessing one account stays slow, its owner is never kept out for long) and
long for an address (``ADDRESS_MAX_DELAY_S``: one machine guessing many accounts). A success clears
both keys; an administrator can clear one (``accounts.unlock``, the suite's unlock command). The state lives in
the database, so restarts do not reset it and every server process sees the same delays.

>>> delay_after(FREE_FAILURES + 1, cap=30), delay_after(FREE_FAILURES + 10, cap=30)
(2.0, 30.0)
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, utcnow

FREE_FAILURES = 5  # failures a key may have before it waits
USER_MAX_DELAY_S = 30.0  # longest wait for one account name
ADDRESS_MAX_DELAY_S = 900.0  # longest wait for one network address


class ThrottleRow(Base):
    __tablename__ = "sign_in_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "user:<name>" or "ip:<address>"
    failures: Mapped[int] = mapped_column(Integer, default=0)  # since the last success or unlock
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_failure_at: Mapped[datetime | None] = mapped_column(default=None)


def delay_after(failures: int, *, cap: float) -> float:
    """Seconds a key waits after its ``failures``-th failure."""
    if failures <= FREE_FAILURES:
        return 0.0
    return float(min(2.0 ** (failures - FREE_FAILURES), cap))


def user_key(username: str) -> str:
    return f"user:{(username or '').strip().lower()[:64]}"


def address_key(address: str) -> str:
    return f"ip:{address[:100]}"


def keys(username: str, address: str) -> dict[str, float]:
    """The keys of one attempt and their caps."""
    out = {user_key(username): USER_MAX_DELAY_S}
    if address:
        out[address_key(address)] = ADDRESS_MAX_DELAY_S
    return out


def wait_seconds(*, session: Session, username: str, address: str) -> float:
    """How long this attempt must wait (0: it may go ahead)."""
    now, wait = utcnow(), 0.0
    for key in keys(username, address):
        row = session.get(ThrottleRow, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    return wait


def record_failure(*, session: Session, username: str, address: str) -> None:
    now = utcnow()
    for key, cap in keys(username, address).items():
        row = session.get(ThrottleRow, key) or ThrottleRow(key=key, failures=0)
        session.add(row)
        row.failures += 1
        row.last_failure_at = now
        delay = delay_after(row.failures, cap=cap)
        row.blocked_until = now + timedelta(seconds=delay) if delay else None
    session.flush()


def clear(*, session: Session, key: str) -> bool:
    """Forget a key's failures (a success, or an administrator's unlock); True if it had any."""
    row = session.get(ThrottleRow, key)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
