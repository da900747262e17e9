"""core.db + core.accounts on SQLite and on a real PostgreSQL server (same tests, both backends)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

from core import accounts as A
from core.db import current_revisions, make_engine, migrate, session_scope, utcnow


def test_migrations_create_tables_and_are_idempotent(engine):
    from alembic.script import ScriptDirectory

    from core.db import alembic_config

    before = current_revisions(engine)
    migrate(engine)  # a second run changes nothing
    assert current_revisions(engine) == before
    script = ScriptDirectory.from_config(alembic_config(engine))
    heads = set(script.get_heads())
    assert {"md_0004", "cc_0003", "et_0002"} <= heads  # the registered apps' branches are found
    assert before and before <= heads
    # every head is reached: current, or an ancestor of a current one (the core's head, which the
    # apps' branches depend on, is implied by them and not listed separately)
    reached = {r.revision for r in script.revision_map.iterate_revisions(tuple(before), "base")}
    assert heads <= reached, heads - reached
    tables = set(inspect(engine).get_table_names())
    assert {"users", "auth_sessions", "audit_log", "alembic_version", "cc_calls", "cc_turns", "task_workers"} <= tables


def test_sqlite_file_uses_wal(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'x.sqlite3'}")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_create_user_and_authenticate(session):
    user = A.create_user(session=session, username="Dr.Who", password="correct horse 1", role="clinician")
    assert user.username == "dr.who" and user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert A.authenticate(session=session, username="DR.WHO", password="correct horse 1").id == user.id
    assert A.authenticate(session=session, username="dr.who", password="wrong password") is None
    assert A.authenticate(session=session, username="nobody", password="whatever123") is None


def test_salted_hashes_differ_for_the_same_password(session):
    a = A.create_user(session=session, username="ann", password="same password 9", role="student")
    b = A.create_user(session=session, username="bob", password="same password 9", role="student")
    assert a.password_hash != b.password_hash


@pytest.mark.parametrize("username,password,role,message", [
    ("x", "long enough pw", "student", "username"),
    ("good.name", "short", "student", "at least"),
    ("good.name", "aaaaaaaaaaaa", "student", "too simple"),
    ("good.name", "long enough pw", "wizard", "Unknown role"),
    ("bad name!", "long enough pw", "student", "username"),
])
def test_account_validation(session, username, password, role, message):
    with pytest.raises(A.AccountError, match=message):
        A.create_user(session=session, username=username, password=password, role=role)


def test_duplicate_username_rejected(session):
    A.create_user(session=session, username="carol", password="blue kettle 42", role="teacher")
    with pytest.raises(A.AccountError, match="taken"):
        A.create_user(session=session, username="Carol", password="another password", role="teacher")


def test_failures_bring_growing_delays_not_a_lock(session):
    """Issue 11, item 3: five wrong passwords no longer lock an account for 15 minutes (anyone could
    lock out anyone, the admin included); further failures wait 2 s, 4 s, ... (at most 30 s for an
    account name, 15 min for an address), unknown names exactly like known ones, and a success or
    an administrator's unlock clears the delay."""
    from core import throttle

    A.create_user(session=session, username="dave", password="green lantern 7", role="supervisor")
    free = throttle.FREE_FAILURES
    for k in range(free):  # free failures: no delay, and the right password still works after them
        assert A.authenticate(session=session, username="dave", password="guess guess", address=f"10.0.1.{k}") is None
    for who in ("dave", "ghost"):  # one more failure: a known and an unknown name are held back alike
        for k in range(free + 1 if who == "ghost" else 1):
            assert A.authenticate(session=session, username=who, password="guess guess", address=f"10.0.2.{k}") is None
        with pytest.raises(A.SignInThrottled) as held:
            A.authenticate(session=session, username=who, password="green lantern 7", address="10.0.3.1")
        assert held.value.seconds == 2
    for k in range(free + 1):  # one address trying many names
        assert A.authenticate(session=session, username=f"user{k}", password="guess guess", address="10.9.9.9") is None
    with pytest.raises(A.SignInThrottled):
        A.authenticate(session=session, username="dave", password="green lantern 7", address="10.9.9.9")
    row = session.get(throttle.ThrottleRow, "user:dave")
    assert row.blocked_until - utcnow() <= timedelta(seconds=throttle.USER_MAX_DELAY_S)
    assert A.unlock(session=session, username="dave")  # the administrator's command
    assert A.authenticate(session=session, username="dave", password="green lantern 7", address="10.0.3.1")
    assert session.get(throttle.ThrottleRow, "user:dave") is None  # a success clears the name's failures
    assert throttle.delay_after(free + 20, cap=throttle.ADDRESS_MAX_DELAY_S) == 900


def test_password_hashing_is_bounded(monkeypatch):
    """At most HASH_SLOTS hashes at once; a sign-in that cannot get a slot is told to retry."""
    monkeypatch.setattr(A, "HASH_WAIT_S", 0.05)
    held = [A._hash_slots.acquire() for _ in range(A.HASH_SLOTS)]
    try:
        with pytest.raises(A.SignInBusy):
            with A._hash_slot():
                pass
    finally:
        for _ in held:
            A._hash_slots.release()


def test_first_run_admin_bootstrap_happens_once(session):
    password = A.bootstrap_admin(session=session)
    assert password and A.authenticate(session=session, username="admin", password=password).role == "admin"
    assert A.bootstrap_admin(session=session) is None
    assert A.count_users(session=session) == 1


def test_sessions_expire_and_revoke(session):
    user = A.create_user(session=session, username="erin", password="amber meadow 5", role="student")
    token = A.start_session(session=session, user=user, hours=1)
    assert A.user_for_token(session=session, token=token).id == user.id
    assert A.user_for_token(session=session, token="forged") is None
    row = session.scalar(select(A.AuthSession))
    assert row.token_hash != token  # only the hash is stored
    A.end_session(session=session, token=token)
    assert A.user_for_token(session=session, token=token) is None
    expired = A.start_session(session=session, user=user, hours=-1)
    assert A.user_for_token(session=session, token=expired) is None


def test_audit_log_records_and_lists(session):
    user = A.create_user(session=session, username="frank", password="quiet harbour 3", role="clinician")
    A.record_audit(session=session, user=user, app="medical_dictation", action="read", object_type="note",
                   object_id=7, detail={"version": 2})
    A.record_audit(session=session, user=None, app="suite", action="login_failed")
    events = A.list_audit(session=session)
    assert [e.action for e in events] == ["login_failed", "read"]
    assert A.list_audit(session=session, app="medical_dictation")[0].object_id == "7"


def test_roles_gate_apps():
    def u(role):
        return A.User(username="x", password_hash="", role=role, is_active=True)

    assert A.may_open(u("clinician"), "medical_dictation") and not A.may_open(u("clinician"), "english_tutor")
    assert A.may_open(u("supervisor"), "finance_callcenter")
    assert A.may_open(u("student"), "english_tutor") and A.may_open(u("teacher"), "english_tutor")
    assert set(A.registered_apps()) == {"medical_dictation", "finance_callcenter", "english_tutor"}
    assert all(A.may_open(u("admin"), app) for app in A.registered_apps())
    assert not A.may_open(u("supervisor"), "medical_dictation") and not A.may_open(u("student"), "no_such_app")
    assert not A.may_open(None, "english_tutor")
    inactive = A.User(username="x", password_hash="", role="clinician", is_active=False)
    assert not A.may_open(inactive, "medical_dictation")


def test_only_roles_some_app_declares_can_be_given(session):
    assert A.known_roles()[0] == "admin" and {"clinician", "supervisor", "teacher", "student"} <= set(A.known_roles())
    with pytest.raises(A.AccountError, match="Unknown role 'wizard'"):
        A.create_user(session=session, username="merlin", password="abracadabra 42", role="wizard")
    A.register_app("test_lab", ("lab_tech",))
    try:
        assert A.create_user(session=session, username="tess", password="pipettes 2026", role="lab_tech").role == "lab_tech"
        assert A.may_open(A.get_user(session=session, username="tess"), "test_lab")
    finally:
        from apps.suite.registry import register_apps

        A._app_roles.pop("test_lab")
        register_apps()


def test_rollback_on_error_keeps_nothing(engine):
    with pytest.raises(RuntimeError):
        with session_scope(engine) as s:
            A.create_user(session=s, username="ghost", password="silver canoe 88", role="student")
            raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert A.get_user(session=s, username="ghost") is None


def test_migrations_match_the_models(engine):
    """Every table the models declare is created by the migrations with the same columns."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import apps.finance_callcenter.models  # noqa: F401
    import apps.medical_dictation.models  # noqa: F401
    import apps.english_tutor.models  # noqa: F401
    from core.db import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    relevant = [d for d in diff if d[0] in ("add_table", "remove_table", "add_column", "remove_column")
                and not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert relevant == []


@pytest.mark.parametrize("password", ["password123", "Password2024!", "qwertyuiop", "1234567890", "iloveyou99",
                                      "0987654321", "zyxwvutsrq", "welcome2026", "hellohello1", "danielle-2026"])
def test_common_and_guessable_passwords_are_refused(session, password):
    """Issue 11, item 7: a blocklist of the passwords guessing tools try first, runs, and the username."""
    with pytest.raises(A.AccountError, match="guessing tools try|run of keys"):
        A.create_user(session=session, username="danielle", password=password, role="student")
    assert A.create_user(session=session, username="danielle", password="kettle harbour 9", role="student")
