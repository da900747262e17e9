"""The suite's one logging set-up: a rotating file in the data dir plus stderr, each line tagged
with its request/job id, caught exceptions with their tracebacks."""
from __future__ import annotations

import logging

from core.logs import LOG_FILE, configure_logging, current_job, job_context


def test_log_lines_carry_the_job_id_and_tracebacks(tmp_path, capsys):
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        path = configure_logging(tmp_path, level="INFO")
        configure_logging(tmp_path, level="INFO")  # again: no duplicated handlers
        log = logging.getLogger("parlance.test")
        with job_context("call-42") as job:
            assert job == current_job() == "call-42"
            try:
                raise ValueError("the database is locked")
            except ValueError:
                log.exception("call %s failed", 42)
        log.info("between jobs")
        for h in root.handlers:
            h.flush()
        text = path.read_text(encoding="utf-8")
        assert path == tmp_path / LOG_FILE
        assert "ERROR [call-42] parlance.test: call 42 failed" in text
        assert "Traceback" in text and "ValueError: the database is locked" in text
        assert "INFO [-] parlance.test: between jobs" in text and text.count("between jobs") == 1
        assert "call 42 failed" in capsys.readouterr().err  # and on stderr
    finally:
        for h in [h for h in root.handlers if h not in saved[0]]:
            root.removeHandler(h)
            h.close()
        root.setLevel(saved[1])


def test_a_fresh_job_id_when_none_is_given():
    with job_context() as a, job_context() as b:
        assert a != b and len(a) == 8 and current_job() == b
    assert current_job() == "-"
