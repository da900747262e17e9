"""What a person sees when a page's handler fails unexpectedly: one plain sentence, never a stack
trace or raw SQL (a locked SQLite file used to show "sqlite3.OperationalError database is locked
[SQL: INSERT ...]"). The traceback goes to the log with the request's id.

Every Gradio handler of the apps is wrapped with ``plain_errors``; typed refusals (a service's
own errors) are handled inside the handlers and shown as their messages.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable, TypeVar

import gradio as gr
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable)
DATABASE_BUSY = ("The database is busy or unreachable right now; nothing was lost. "
                 "Please try again in a few seconds.")
UNEXPECTED = "Something went wrong on the server; the details are in its log. Please try again."


def plain_message(exc: BaseException) -> str:
    """The sentence for a failure nobody anticipated."""
    if isinstance(exc, SQLAlchemyError):
        return DATABASE_BUSY
    return UNEXPECTED


def plain_errors(fn: F) -> F:
    """Wrap a Gradio handler: an unexpected exception is logged with its traceback and shown to the
    person as a plain sentence (``gr.Error``), never as raw SQL. Keeps the signature, so Gradio still
    injects ``gr.Request`` and ``gr.Progress``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - the last net under a page: log, then a plain sentence
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(plain_message(exc)) from None

    return wrapper  # type: ignore[return-value]
