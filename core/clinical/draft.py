"""One dictation -> a draft note: normalise -> repair -> drug slots -> entities -> SOAP sections.

The one path from recognised text to a draft; the dictation app and ``benchmarks/dictation.py``
both call ``draft_note``, so what the benchmark measures is what the clinician gets. Pure text
work (no database): callers run it before they open a transaction.

>>> d = draft_note("history colon cough period plan colon start metforman five hundred milligrams twice daily period")
>>> d.sections["plan"], [(e.label, e.text, e.attributes["dosage"]) for e in d.entities if e.label == "MEDICATION"]
('Start metformin 500 mg twice daily.', [('MEDICATION', 'metformin', '500 mg')])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from core.clinical.drug_slots import fill_drug_slots
from core.clinical.entities import Entity, Tagger, extract_entities
from core.clinical.normalisation import normalise_dictation
from core.clinical.repair import Repair, repair_medications
from core.clinical.soap import split_soap


@dataclass(frozen=True)
class Draft:
    text: str  # this dictation as it goes into the note: normalised, drug names and instructions repaired
    transcript: str  # ``previous`` + this dictation: the encounter's whole transcript
    repairs: tuple[Repair, ...]  # what the repair step changed (recognised words -> lexicon name)
    entities: tuple[Entity, ...]  # found in ``transcript`` (character offsets into it)
    sections: dict[str, str]  # SOAP sections of this dictation alone (subjective, objective, assessment, plan)


def draft_note(raw: str, *, vocabulary: Sequence[str] = (), tagger: Tagger | None = None, repair: bool = True,
               previous: str = "", slots: bool = True) -> Draft:
    """``raw``: the recogniser's text. ``vocabulary``: the clinician's own drug names and terms
    (repair targets and entities). ``tagger``: the NER model (None: lexicon and term list only).
    ``repair=False`` skips name repair (the benchmark's "plain" rows); ``slots=False`` skips the
    sound match of words in a drug's slot (``core.clinical.drug_slots``). ``previous``: the
    encounter's transcript so far; entities are found in it joined with this dictation."""
    words = [w.strip() for w in vocabulary if w.strip()]
    text = normalise_dictation(raw)
    repairs: tuple[Repair, ...] = ()
    if repair:
        fixed = repair_medications(text, vocabulary=words)
        text, repairs = fixed.text, fixed.repairs
        if slots:
            filled = fill_drug_slots(text, vocabulary=words)
            text, repairs = filled.text, repairs + filled.repairs
    transcript = f"{previous}\n\n{text}" if previous else text
    entities = extract_entities(transcript, tagger=tagger, vocabulary=words if repair else None)
    return Draft(text=text, transcript=transcript, repairs=repairs, entities=tuple(entities),
                 sections=split_soap(text))
