"""What an app declares to the suite: its one id, its roles, its tables' migrations, its page.

Each app's ``config.py`` holds one ``AppSpec``; ``apps/suite/registry.py`` lists the apps the suite
mounts and registers their roles and migrations with the core. The core never names an app, so
adding an app touches only ``apps/``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class AppSpec:
    app_id: str  # the one id of the app everywhere: audit log, role table, logs ("medical_dictation")
    title: str  # shown on the landing page and the app's own page
    path: str  # where the suite mounts it ("/dictation")
    blurb: str  # one line on the landing page: what it is for
    roles: tuple[str, ...]  # roles (besides admin, who opens everything) that may open it
    migrations: Path | None  # its Alembic version folder (its own branch); None without tables
    ui: str  # "module:function" returning its gr.Blocks; imported only when the suite mounts it
    tasks: str | None = None  # "module:KINDS": its kinds of background task (core.tasks.registry.TaskKind)
    files: str | None = None  # "module:function"(user_of) -> APIRouter: downloads the suite serves at {path}/files,
    #   each checking the signed-in person (user_of(request) -> username or None) owns what it asks for

    def build_ui(self) -> Any:
        return _resolve(self.ui)()

    def file_routes(self, user_of: Callable[[Any], str | None]) -> Any | None:
        return _resolve(self.files)(user_of) if self.files else None

    def task_kinds(self) -> tuple[Any, ...]:
        return tuple(_resolve(self.tasks)) if self.tasks else ()


def _resolve(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
