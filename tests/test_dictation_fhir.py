"""FHIR R4 DocumentReference export of a signed note (structure and the required fields)."""
from __future__ import annotations

import base64
from datetime import UTC, datetime

from apps.medical_dictation.fhir import document_reference


def test_document_reference_carries_note_and_coded_free_entities():
    text = "Plan: start metformin 500 mg by mouth twice daily. Denies chest pain. Possible asthma."
    ents = [{"label": "MEDICATION", "text": "metformin", "assertions": [], "code": "6809",
             "attributes": {"dosage": "500 mg", "route": "by mouth", "frequency": "twice daily"}},
            {"label": "PROBLEM", "text": "chest pain", "assertions": ["negated"], "attributes": {}},
            {"label": "PROBLEM", "text": "asthma", "assertions": ["uncertain"], "attributes": {}},
            {"label": "PROBLEM", "text": "diabetes", "assertions": ["family"], "attributes": {}}]
    doc = document_reference(note_id=7, text=text, patient={"id": 3, "name": "Ann Smith", "mrn": "A1"},
                             author="dr.a", signed_at=datetime(2026, 11, 21, 10, 0, tzinfo=UTC), entities=ents)
    assert doc["resourceType"] == "DocumentReference" and doc["status"] == "current" and doc["docStatus"] == "final"
    att = doc["content"][0]["attachment"]
    assert base64.b64decode(att["data"]).decode() == text and att["size"] == len(text.encode())
    kinds = [(c["resourceType"], c.get("code", c.get("medicationCodeableConcept"))["text"]) for c in doc["contained"]]
    assert kinds == [("MedicationStatement", "metformin"), ("Condition", "asthma")]  # negated and family left out
    med = doc["contained"][0]
    assert med["status"] == "active" and med["dosage"][0]["text"] == "500 mg by mouth twice daily"
    assert med["medicationCodeableConcept"]["coding"][0]["code"] == "6809"
    cond = doc["contained"][1]
    assert cond["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert all(c["subject"]["reference"] == "Patient/3" for c in doc["contained"])
