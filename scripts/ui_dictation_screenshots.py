"""Click through the medical dictation page in headless Chromium as a clinician; save screenshots.

    PARLANCE_ADMIN_PASSWORD=... bash scripts/run_suite.sh &
    python scripts/ui_dictation_screenshots.py --password ... --out docs/screenshots/dictation

Signs in as admin, creates a clinician, signs in as the clinician, adds a patient, starts an
encounter, uploads a dictation (synthetic: espeak-ng reads a short SOAP dictation with spoken
punctuation and section headers), checks the transcript's entities and the SOAP draft, edits and
saves the plan, saves a stale copy from a second tab (conflict), signs, adds an addendum, exports
the note as text and FHIR, and uploads a French recording (refused with a message). Needs
espeak-ng, the [ui] extra (playwright) and Debian's chromium.
"""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from playwright.sync_api import Page, sync_playwright
from ui_browser import CHROMIUM, CHROMIUM_FLAGS, create_user, sign_in

ROOT = Path(__file__).resolve().parent.parent
DICTATION = (
    "Subjective colon fifty five year old man with three days of chest pain and a dry cough period "
    "He denies fever period His mother had diabetes period new paragraph "
    "Objective colon blood pressure one hundred and forty over ninety period chest clear period new paragraph "
    "Assessment colon possible community acquired pneumonia period new paragraph "
    "Plan colon start amoxicillin five hundred milligrams by mouth three times a day for seven days period "
    "Paracetamol one gram four times a day as needed period "
    "Continue metformin five hundred milligrams twice daily period chest x-ray today period")
# a follow-up: a drug the vocabulary learnt from the signed note, with a unit slip (mL of a tablet
# drug by mouth: flagged), and a drug nobody typed (left to the drug slots)
FOLLOW_UP = ("Plan colon continue metformin ten millilitres by mouth twice daily period "
             "Start sertraline fifty milligrams by mouth once daily period")


def textbox(page: Page, label: str):
    return page.get_by_label(label, exact=True)


def upload(page: Page, path: Path) -> None:
    """The audio box opens on the microphone; switch it to upload and give it the file."""
    page.locator("button[aria-label='Upload file']").first.click()
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.wait_for_timeout(2000)


def open_encounter(page: Page, url: str, patient: str) -> None:
    """Pick the patient and their latest encounter from the dropdowns."""
    page.goto(f"{url}/dictation/")
    page.wait_for_selector("text=Find a patient", timeout=60000)
    page.get_by_label("Patient", exact=True).click()
    page.get_by_role("option", name=patient).first.click()
    page.wait_for_timeout(2500)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--password", required=True, help="the admin password")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "dictation")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    clip = out / "dictation_synthetic.wav"
    subprocess.run(["espeak-ng", "-v", "en-us+m3", "-s", "150", "-w", str(clip), DICTATION], check=True)
    url = args.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        create_user(page, url, args.password, "dr.lee", "Dr. Ada Lee", "clinician", "clinician password 1")
        sign_in(page, url, "dr.lee", "clinician password 1")
        page.goto(f"{url}/dictation/")
        page.wait_for_selector("text=Find a patient", timeout=60000)
        page.get_by_text("New patient").click()
        textbox(page, "MRN").fill("MRN-1001")
        textbox(page, "Name").fill("John <b>Carter</b>")
        textbox(page, "Sex").fill("male")
        page.get_by_role("button", name="Add patient").click()
        page.wait_for_selector("text=Patient added.", timeout=30000)
        textbox(page, "Reason for a new encounter").fill("chest pain, cough")
        page.get_by_role("button", name="Start encounter").click()
        page.wait_for_selector("text=started: dictate below", timeout=30000)
        page.screenshot(path=out / "01_patient_and_encounter.png", full_page=True)

        upload(page, clip)
        page.get_by_label("My vocabulary (drug names, terms; comma-separated)").fill("amoxicillin, metformin")
        page.get_by_role("button", name="Transcribe and draft the note").click()
        page.wait_for_selector("text=Dictation added to the note", timeout=180000)
        page.screenshot(path=out / "02_dictated.png", full_page=True)
        page.get_by_role("tab", name="Transcript and entities").click()
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "03_transcript_entities.png", full_page=True)

        page.get_by_role("tab", name="Note (SOAP)").click()
        plan = textbox(page, "Plan")
        plan.fill(plan.input_value() + "\nReview in one week.")
        # a second tab opens the same note before the first one saves
        tab2 = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab2.context.add_cookies(page.context.cookies())
        open_encounter(tab2, url, "John")
        tab2.get_by_role("tab", name="Note (SOAP)").click()
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector("text=Saved", timeout=30000)
        page.screenshot(path=out / "04_note_saved.png", full_page=True)
        p2 = textbox(tab2, "Plan")
        p2.fill(p2.input_value() + "\nFrom the second tab.")
        tab2.get_by_role("button", name="Save draft").click()
        tab2.wait_for_selector("text=Not saved", timeout=30000)
        tab2.screenshot(path=out / "05_second_tab_conflict.png", full_page=True)
        tab2.close()

        page.get_by_role("button", name="Sign note").click()
        try:
            page.wait_for_selector("text=The note is now read-only", timeout=30000)
        except Exception:
            page.screenshot(path=out / "error.png", full_page=True)
            raise
        textbox(page, "Addendum (signed notes)").fill("Chest x-ray clear, per radiology.")
        page.get_by_role("button", name="Add addendum").click()
        page.wait_for_timeout(2000)
        page.screenshot(path=out / "06_signed_with_addendum.png", full_page=True)
        page.get_by_role("tab", name="History and export").click()
        page.get_by_role("button", name="Show versions").click()
        page.wait_for_timeout(1500)
        page.get_by_label("FHIR R4 DocumentReference (JSON)").check()
        page.get_by_role("button", name="Export signed note").click()
        page.wait_for_selector("text=Ready: download the signed note", timeout=30000)
        with page.expect_download() as download:  # served by the suite's own route, which checks the clinician
            page.get_by_text("Download note-").click()
        saved = out / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8").lstrip().startswith("{"), "the FHIR export did not download"
        saved.unlink()
        page.screenshot(path=out / "07_history_export.png", full_page=True)

        page.get_by_role("tab", name="Transcript and entities").click()
        textbox(page, "Reason for a new encounter").fill("follow-up")
        page.get_by_role("button", name="Start encounter").click()
        page.wait_for_selector("text=started: dictate below", timeout=30000)
        # the vocabulary now holds what the signed note taught it; a drug outside it, by sound
        page.wait_for_selector("text=Learnt from your signed notes", timeout=30000)
        page.locator("button[aria-label='Clear']").first.click(timeout=5000)
        follow = out / "follow_up_synthetic.wav"
        subprocess.run(["espeak-ng", "-v", "en-gb+f3", "-s", "150", "-w", str(follow), FOLLOW_UP], check=True)
        upload(page, follow)
        page.get_by_role("button", name="Transcribe and draft the note").click()
        page.wait_for_selector("text=Dictation added to the note", timeout=180000)
        page.get_by_role("tab", name="Transcript and entities").click()
        page.wait_for_timeout(1000)
        page.screenshot(path=out / "09_vocabulary_drug_slot_unit_check.png", full_page=True)
        follow.unlink()

        textbox(page, "Reason for a new encounter").fill("second follow-up")
        page.get_by_role("button", name="Start encounter").click()
        page.wait_for_selector("text=started: dictate below", timeout=30000)
        page.locator("button[aria-label='Clear']").first.click(timeout=5000)
        upload(page, ROOT / "tests/fixtures/audio/synthetic_espeak_fr.opus")
        page.get_by_role("button", name="Transcribe and draft the note").click()
        page.wait_for_selector("text=Could not process the dictation", timeout=180000)
        page.screenshot(path=out / "08_french_refused.png", full_page=True)
        browser.close()
    clip.unlink()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
