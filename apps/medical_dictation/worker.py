"""Dictation's task on the suite's processing layer (``core.tasks``): "draft from recording N".

The work itself is ``service.run_recording`` (claim, read the stored recording with its hash
checked, transcribe, draft, store the note while the claim holds); the page that uploaded the
recording waits for it with ``service.process_recording``.
"""
from __future__ import annotations

from apps.medical_dictation.service import give_up_recording, pending_recordings, run_recording
from core.tasks.registry import TaskKind

KIND = TaskKind(name="dictation.draft_from_recording", run=run_recording, pending=pending_recordings,
                fail=give_up_recording)
KINDS = (KIND,)
