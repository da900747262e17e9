"""Medical dictation: its id, roles and settings (env vars PARLANCE_DICTATION_<FIELD> override)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from apps.common.app_spec import AppSpec
from core.storage import area

APP_ID = "medical_dictation"
ROLES = ("clinician",)
SPEC = AppSpec(app_id=APP_ID, title="Medical dictation", path="/dictation", roles=ROLES,
               blurb="Dictate after a visit; get a structured note to review, sign and export.",
               migrations=Path(__file__).resolve().parent / "migrations" / "versions",
               ui="apps.medical_dictation.ui:build_demo", files="apps.medical_dictation.files:build_router",
               tasks="apps.medical_dictation.worker:KINDS")


class DictationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLANCE_DICTATION_", extra="ignore")

    audio_dir: Path | None = None  # stored dictations (default: <storage_dir>/dictation/audio)
    wait_minutes: float = 15.0  # the page waits this long for a busy worker; the dictation is kept either way
    max_note_words: int = 20000  # a note longer than this is refused with a message
    max_minutes: float = 30.0  # a longer recording is kept but refused with a message (a 2-hour file)
    check_language: bool = True  # refuse recordings in another language (Whisper base hears which)
    max_field_chars: int = 200  # patient name, MRN, encounter reason
    use_ner: bool = True  # add the trained biomedical tagger to the lexicon and term list
    # the recogniser for dictations (None: the suite's PARLANCE_ASR_MODEL). Chosen by measurement
    # (benchmarks/dictation.py, 2026-12-01): Whisper base finds more drug names than tiny.en on both
    # sets (with a vocabulary: tuned orders 0.93 vs 0.83, untuned 0.75 vs 0.48) and drafts a 60 s
    # dictation in 4.3 s (tiny.en 2.6 s; target <= 6 s). The language check already loads base.
    asr_model: str | None = "base"
    # context for the recogniser; clinician vocabulary is appended
    asr_prompt: str = "Clinical dictation by a doctor: history, examination, assessment and plan, with medications."
    # a second decoding pass for speech chunks holding words that sound like drug names the
    # recogniser did not know (core.clinical.drug_slots.sounds_like_drugs puts the lexicon's closest
    # names in its prompt). Off by default: measured in benchmarks/dictation.py (README, issue 17)
    # it finds more drugs with no vocabulary typed (tuned orders 0.45 -> 0.52, untuned 0.12 -> 0.38)
    # but decodes most chunks twice: a 60 s dictation takes 11-14 s instead of 5.2-5.4 s on 2 cores
    # (target <= 6 s). Worth turning on where a server has the cores to spare.
    drug_second_pass: bool = False
    # drug names found in the audio where an order names one ("start ... 250 milligrams"): the
    # phones heard there scored against every generic name and the clinician's list
    # (core.clinical.drug_spotting; measured in benchmarks/dictation.py, README issue 17)
    spot_drugs: bool = True
    # where the phones leave the drug open (no name stands out), the recogniser listens to the order
    # read with each of the phones' best names and picks with them (core.clinical.drug_spotting;
    # measured in benchmarks/dictation.py, README issue 17)
    spot_listen: bool = True
    # and the recogniser, held to the lexicon's names, proposes the names it hears after the verb:
    # they are read to it too, and its first is taken when it stands out among all names and the
    # phones do not contradict it (core.clinical.drug_spotting, core.asr.term_search)
    spot_propose: bool = True
    # and what is still open is decoded again with five names in the recogniser's prompt. Off: after
    # listening it found one more drug on the untuned set, none on the tuned ones, and wrote three
    # names that were not said there and one more on the tuned notes
    spot_ask_recogniser: bool = False

    @property
    def resolved_audio_dir(self) -> Path:
        return self.audio_dir or area("dictation", "audio")


def asr_options(vocabulary: list[str] | tuple[str, ...] = (), settings: DictationSettings | None = None):
    """How dictations are transcribed: English (a multilingual recogniser could take a strong accent
    for another language; other languages are refused by the language check), the clinical prompt,
    the clinician's vocabulary, and the drug-name second pass."""
    from core.asr.types import TranscribeOptions
    from core.clinical.drug_slots import sounds_like_drugs

    cfg = settings or get_dictation_settings()
    return TranscribeOptions(vocabulary=tuple(vocabulary), initial_prompt=cfg.asr_prompt, language="en",
                             suggest_terms=sounds_like_drugs if cfg.drug_second_pass else None)


@lru_cache(maxsize=1)
def get_dictation_settings() -> DictationSettings:
    return DictationSettings()
