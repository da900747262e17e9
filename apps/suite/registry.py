"""The apps this suite mounts, and their registration with the core (roles, migrations).

Adding an app: give it a ``config.py`` with an ``AppSpec`` and list it here; nothing in ``core/``
changes.
"""
from __future__ import annotations

from apps.common.app_spec import AppSpec
from apps.english_tutor.config import SPEC as ENGLISH_TUTOR
from apps.finance_callcenter.config import SPEC as FINANCE_CALLCENTER
from apps.medical_dictation.config import SPEC as MEDICAL_DICTATION
from core import accounts, db

MOUNTED: tuple[AppSpec, ...] = (MEDICAL_DICTATION, FINANCE_CALLCENTER, ENGLISH_TUTOR)


def register_apps(specs: tuple[AppSpec, ...] = MOUNTED) -> tuple[AppSpec, ...]:
    """Tell the core each app's roles, migrations folder and kinds of task (idempotent); returns ``specs``."""
    from core.tasks import registry

    for spec in specs:
        registry.register(*spec.task_kinds())
        accounts.register_app(spec.app_id, spec.roles)
        if spec.migrations is not None:
            db.register_migrations(spec.migrations)
    return specs
