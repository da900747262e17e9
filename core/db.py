"""The one database engine/session factory, from one DATABASE_URL, and schema migrations.

SQLite (the default, a file in the user's data dir) runs in WAL mode with foreign keys on;
PostgreSQL works with the same code. Schema changes go through Alembic: the core's history
lives in core/migrations/versions; each app adds its own branch, whose folder the suite registers
(``register_migrations``) for the apps it mounts. The core never looks for apps itself.

>>> engine = make_engine("sqlite:///:memory:")      # doctest: +SKIP
>>> migrate(engine)                                 # create/upgrade every table
>>> with session_scope(engine) as s: ...            # commit on success, rollback on error
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import StaticPool

from core.config import get_settings

CORE_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_extra_migrations: list[Path] = []  # version folders of the registered apps

NAMING = {  # stable constraint names so Alembic migrations are portable across databases
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, in UTC, time-zone aware: the suite's one clock (every stored time is UTC)."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timestamp column that always hands back an aware UTC datetime. PostgreSQL stores the
    zone; SQLite does not and returns naive values, which were written as UTC. So no caller ever
    compares naive with aware times or re-attaches the zone itself."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


def make_engine(url: str) -> Engine:
    """An Engine for ``url``; SQLite gets WAL, foreign keys and a thread-safe setup."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)
    kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if parsed.database in (None, "", ":memory:"):
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    else:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if parsed.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return engine


_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    """The process-wide engine for the configured DATABASE_URL (created once)."""
    global _engine, _factory
    with _lock:
        if _engine is None:
            _engine = make_engine(get_settings().resolved_database_url)
            _factory = sessionmaker(_engine, expire_on_commit=False)
        return _engine


def set_engine(engine: Engine) -> None:
    """Point the process at another engine (tests, the suite's --database-url)."""
    global _engine, _factory
    with _lock:
        _engine = engine
        _factory = sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A Session that commits when the block succeeds and rolls back when it raises."""
    if engine is None:
        get_engine()
        factory = _factory
    else:
        factory = sessionmaker(engine, expire_on_commit=False)
    assert factory is not None
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def register_migrations(versions_dir: str | Path) -> None:
    """Add an app's Alembic version folder (its own branch); ``migrate`` upgrades it with the core's."""
    path = Path(versions_dir).resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"no migrations folder at {path}")
    with _lock:
        if path not in _extra_migrations:
            _extra_migrations.append(path)


def migration_locations() -> list[str]:
    """Version folders: the core's, then each registered app's."""
    with _lock:
        return [str(CORE_MIGRATIONS / "versions"), *sorted(str(p) for p in _extra_migrations)]


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    cfg.set_main_option("version_locations", " ".join(migration_locations()))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine | None = None) -> None:
    """Bring the database schema to the newest version of every branch (idempotent)."""
    from alembic import command

    engine = engine or get_engine()
    with engine.begin() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def current_revisions(engine: Engine) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
