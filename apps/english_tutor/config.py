"""English tutor: its id and roles (pronunciation scoring comes with its own issue)."""
from __future__ import annotations

from apps.common.app_spec import AppSpec

APP_ID = "english_tutor"
ROLES = ("teacher", "student")
SPEC = AppSpec(app_id=APP_ID, title="English pronunciation tutor", path="/tutor", roles=ROLES,
               blurb="Read a prompt aloud; see accuracy, fluency and each word's pronunciation.",
               migrations=None, ui="apps.english_tutor.ui:build_demo")
