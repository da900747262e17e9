"""Call-center supervisor app: its id, roles and settings (env vars PARLANCE_CALLCENTER_<FIELD> override)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.common.app_spec import AppSpec
from core.storage import area

APP_ID = "finance_callcenter"
ROLES = ("supervisor",)
SPEC = AppSpec(app_id=APP_ID, title="Call-center supervisor", path="/callcenter", roles=ROLES,
               blurb="Calls transcribed turn by turn, intents and emotions, routing and escalations.",
               migrations=Path(__file__).resolve().parent / "migrations" / "versions",
               ui="apps.finance_callcenter.ui:build_demo", tasks="apps.finance_callcenter.worker:KINDS",
               files="apps.finance_callcenter.files:build_router")
# the two parties of a call, as call segmentation names them (stereo: agent on ``agent_channel``)
AGENT, CUSTOMER = "agent", "customer"


class CallCenterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLANCE_CALLCENTER_", extra="ignore")

    audio_dir: Path | None = None  # stored call recordings (default: <storage_dir>/callcenter/audio)
    max_files_per_upload: int = 50  # one drop of files
    dashboard_refresh_s: float = 5.0  # live queue view refresh period
    # context given to the recogniser before each call (domain words it should expect); measured in
    # benchmarks/callcenter.py: WER 0.133 -> 0.120 on synthetic banking requests
    # the recogniser for calls (None: the suite's PARLANCE_ASR_MODEL, tiny.en); an adapted model
    # (core/recipes/asr) is named here or by its path; benchmarks/asr_training.py measures any of
    # them on the real two-party call (README, issue 14).
    asr_model: str | None = None
    asr_prompt: str = ("A customer calls their bank about a card, a PIN, a top-up, a transfer, a payment, a refund, "
                       "an exchange rate or their account.")

    @property
    def resolved_audio_dir(self) -> Path:
        return self.audio_dir or area("callcenter", "audio")


@lru_cache(maxsize=1)
def get_callcenter_settings() -> CallCenterSettings:
    return CallCenterSettings()
