"""English tutor: its id, roles and settings (env vars PARLANCE_TUTOR_<FIELD> override)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.common.app_spec import AppSpec
from core.storage import area

APP_ID = "english_tutor"
ROLES = ("teacher", "student")
SPEC = AppSpec(app_id=APP_ID, title="English pronunciation tutor", path="/tutor", roles=ROLES,
               blurb="Read a prompt aloud; see accuracy, fluency and each word's pronunciation.",
               migrations=Path(__file__).resolve().parent / "migrations" / "versions",
               ui="apps.english_tutor.ui:build_demo", files="apps.english_tutor.files:build_router",
               tasks="apps.english_tutor.rescoring:KINDS")


class TutorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLANCE_TUTOR_", extra="ignore")

    audio_dir: Path | None = None  # stored attempts (default: <storage_dir>/tutor/audio)
    max_seconds: float = 120.0  # a longer recording is kept but refused with a message
    max_name_chars: int = 120  # class names
    recogniser: str | None = None  # phone recogniser artifact (default: models/pronunciation/phone-ctc-tiny.pt)
    scorer: str | None = None  # scorer artifact (default: models/pronunciation/scorer-tiny.json)

    @property
    def resolved_audio_dir(self) -> Path:
        return self.audio_dir or area("tutor", "audio")


@lru_cache(maxsize=1)
def get_tutor_settings() -> TutorSettings:
    return TutorSettings()
