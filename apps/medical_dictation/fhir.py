"""Export a signed note as a FHIR R4 DocumentReference (JSON).

The note text travels as a base64 ``text/plain`` attachment; the entities found in it are
``contained`` resources, coded-free (``code.text`` only; a RxNorm coding is added for medications
whose lexicon entry has one): PROBLEM -> Condition (negated problems are left out; uncertain ones
get verificationStatus "provisional", family history is left out), MEDICATION ->
MedicationStatement (dosage text from the dictated dose, route and frequency; negated -> status
"not-taken").
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def _iso(dt: datetime) -> str:
    return dt.isoformat() if dt.tzinfo else dt.isoformat() + "Z"


def document_reference(*, note_id: int, text: str, patient: dict, author: str, signed_at: datetime,
                       entities: list[dict]) -> dict:
    """patient: {"id", "name", "mrn"}; entities: dicts with label, text, assertions, attributes, code."""
    subject = {"reference": f"Patient/{patient['id']}", "display": patient["name"],
               "identifier": {"value": patient["mrn"]}}
    contained, n = [], 0
    for e in entities:
        flags = set(e.get("assertions") or [])
        if "negated" in flags and e["label"] == "PROBLEM" or "family" in flags:
            continue
        n += 1
        if e["label"] == "PROBLEM":
            contained.append({
                "resourceType": "Condition", "id": f"c{n}",
                "clinicalStatus": {"coding": [{"system": CLINICAL,
                                               "code": "resolved" if "historical" in flags else "active"}]},
                "verificationStatus": {"coding": [{"system": VERIFICATION,
                                                   "code": "provisional" if "uncertain" in flags else "confirmed"}]},
                "code": {"text": e["text"]}, "subject": subject})
        elif e["label"] == "MEDICATION":
            attrs = e.get("attributes") or {}
            concept: dict = {"text": e["text"]}
            if e.get("code"):
                concept["coding"] = [{"system": RXNORM, "code": e["code"], "display": e["text"]}]
            dosage_text = " ".join(attrs[k] for k in ("dosage", "route", "frequency", "duration") if attrs.get(k))
            statement = {"resourceType": "MedicationStatement", "id": f"m{n}",
                         "status": "not-taken" if "negated" in flags else
                         ("completed" if "historical" in flags else "active"),
                         "medicationCodeableConcept": concept, "subject": subject}
            if dosage_text:
                dosage: dict = {"text": dosage_text}
                if attrs.get("route"):
                    dosage["route"] = {"text": attrs["route"]}
                statement["dosage"] = [dosage]
            contained.append(statement)
    data = text.encode("utf-8")
    return {
        "resourceType": "DocumentReference",
        "id": f"note-{note_id}",
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}],
                 "text": "Progress note"},
        "subject": subject,
        "date": _iso(signed_at),
        "author": [{"display": author}],
        "authenticator": {"display": author},
        "description": "Dictated consultation note (signed)",
        "contained": contained,
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "language": "en",
                                    "data": base64.b64encode(data).decode("ascii"), "size": len(data),
                                    "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
                                    "title": f"Note {note_id}", "creation": _iso(signed_at)}}],
    }
