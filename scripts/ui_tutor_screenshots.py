"""Click through the English tutor in headless Chromium as a student and as a teacher; save
screenshots.

    PARLANCE_ADMIN_PASSWORD=... bash scripts/run_suite.sh &
    python scripts/ui_tutor_screenshots.py --password ... --out docs/screenshots/tutor

Signs in as admin and creates a teacher and a student; the teacher creates a class, adds the
student and assigns the th/s lesson; the student picks a prompt, hears the reference voice and
uploads readings, all synthetic (espeak-ng): "I sink it is sick" for "I think it is thick" (/s/ for
/θ/, as many learners say it), the prompt read correctly, and a reading of the wrong prompt
(refused with a message); then the coloured sentence, a word's sounds, the tips and the progress
tab. The teacher opens the class report (students, trend, weakest sounds), downloads the CSV and
has the class's readings scored again.
Needs the [ui] extra (playwright) and Debian's chromium.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import soundfile as sf
from playwright.sync_api import Page, sync_playwright
from ui_browser import CHROMIUM, CHROMIUM_FLAGS, create_user, sign_in

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STUDENT, TEACHER = ("lily", "student pass 7"), ("ms.wang", "teacher pass 7")


def upload(page: Page, path: Path) -> None:
    page.locator("button[aria-label='Upload file']").first.click()
    page.locator("input[type=file]").first.set_input_files(str(path))
    page.wait_for_timeout(2000)


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).first.click()
    page.wait_for_timeout(1500)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--password", required=True, help="the admin password")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "tutor")
    args = ap.parse_args()
    out, url = args.out, args.url
    out.mkdir(parents=True, exist_ok=True)
    from core.pronunciation.espeak import synthesize

    good, accented = out / "reading_good.wav", out / "reading_accented.wav"
    sf.write(good, synthesize("I think it is thick.", rate_wpm=140), 16000)
    sf.write(accented, synthesize("I sink it is sick.", rate_wpm=140), 16000)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        create_user(page, url, args.password, TEACHER[0], "Ms. Wang", "teacher", TEACHER[1])
        create_user(page, url, args.password, STUDENT[0], "Lily", "student", STUDENT[1])
        # teacher: a class, a student, an assignment
        sign_in(page, url, *TEACHER)
        page.goto(f"{url}/tutor/")
        page.get_by_role("tab", name="Teacher").click()
        page.get_by_label("New class name", exact=True).fill("Year 3 · Room 2")
        page.get_by_role("button", name="Create class").click()
        page.wait_for_selector("text=Class created.", timeout=30000)
        page.get_by_label("Add student (username)", exact=True).fill(STUDENT[0])
        page.get_by_role("button", name="Add to class").click()
        page.wait_for_selector(f"text={STUDENT[0]} added to", timeout=30000)
        pick(page, "Assign lesson", "Minimal pairs: th and s (level 2: /θ/ vs /s/, /ð/ vs /z/)")
        page.get_by_role("button", name="Assign").click()
        page.wait_for_selector("text=assigned to", timeout=30000)
        page.screenshot(path=out / "01_teacher_class.png", full_page=True)
        page.goto(f"{url}/logout")
        page.click("form[action='/logout'] button")
        # student: practise
        sign_in(page, url, *STUDENT)
        page.goto(f"{url}/tutor/")
        page.wait_for_selector("text=Lesson", timeout=60000)
        page.wait_for_timeout(2000)
        pick(page, "Prompt", "I think it is thick.")
        page.get_by_role("button", name="Hear it (reference voice, synthetic)").click()
        page.wait_for_timeout(2000)
        page.screenshot(path=out / "02_student_prompt.png", full_page=True)
        upload(page, accented)
        page.get_by_role("button", name="Score my reading").click()
        page.wait_for_selector("text=scored.", timeout=120000)
        page.locator("details.et-d summary").nth(1).click()
        page.wait_for_timeout(500)
        page.screenshot(path=out / "03_student_result_accented.png", full_page=True)
        page.locator("button[aria-label='Clear']").first.click(timeout=5000)
        upload(page, good)
        page.get_by_role("button", name="Score my reading").click()
        page.wait_for_timeout(4000)
        page.screenshot(path=out / "04_student_result_good.png", full_page=True)
        pick(page, "Lesson (★ assigned by your teacher)", "Everyday sentences (level 3: linking, rhythm and sentence stress)")
        pick(page, "Prompt", "Could you open the window, please?")
        page.locator("button[aria-label='Clear']").first.click(timeout=5000)
        upload(page, good)
        page.get_by_role("button", name="Score my reading").click()
        page.wait_for_selector("text=does not sound like the prompt", timeout=120000)
        page.screenshot(path=out / "05_student_wrong_prompt.png", full_page=True)
        page.get_by_role("tab", name="My progress").click()
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(2500)
        page.screenshot(path=out / "06_student_progress.png", full_page=True)
        page.goto(f"{url}/logout")
        page.click("form[action='/logout'] button")
        # teacher: the report
        sign_in(page, url, *TEACHER)
        page.goto(f"{url}/tutor/")
        page.get_by_role("tab", name="Teacher").click()
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Show class report").click()
        page.wait_for_selector("text=Download CSV", timeout=30000)
        page.wait_for_timeout(2000)
        page.screenshot(path=out / "07_teacher_report.png", full_page=True)
        with page.expect_download() as download:
            page.get_by_text("Download CSV").click()
        saved = out / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.read_text(encoding="utf-8").startswith("class,student"), "the CSV did not download"
        saved.unlink()
        page.get_by_role("button", name="Score the class's readings again (after a model update)").click()
        page.wait_for_selector("text=queued to be scored again", timeout=30000)
        page.wait_for_timeout(8000)  # the server's worker scores them again meanwhile
        page.get_by_role("button", name="Show class report").click()
        page.wait_for_timeout(3000)
        page.screenshot(path=out / "08_teacher_rescored.png", full_page=True)
        browser.close()
    good.unlink()
    accented.unlink()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
