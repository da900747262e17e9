"""Click through the running suite in headless Chromium and save screenshots (a person's check).

    bash scripts/run_suite.sh &                      # with PARLANCE_ADMIN_PASSWORD set
    python scripts/ui_screenshots.py --password ... --out screenshots/

Needs the [ui] extra (playwright) and Debian's chromium (/usr/bin/chromium); no browser download.
Signs in as admin, creates a clinician account on the landing page, signs in as the clinician,
uploads a clip in the dictation app and waits for its transcript.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright
from ui_browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--password", required=True, help="the admin password")
    ap.add_argument("--out", type=Path, default=ROOT / "screenshots")
    ap.add_argument("--clip", type=Path, default=ROOT / "tests/fixtures/audio/so762_007650078.opus")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{args.url}/dictation/")
        page.screenshot(path=args.out / "01_sign_in.png")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        page.screenshot(path=args.out / "02_wrong_password.png")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.goto(f"{args.url}/")
        page.fill("form[action='/admin/users'] input[name=username]", "dr.lee")
        page.fill("form[action='/admin/users'] input[name=display_name]", "Dr. Ada Lee")
        page.select_option("select[name=role]", "clinician")
        page.fill("form[action='/admin/users'] input[name=password]", "clinician password 1")
        page.click("form[action='/admin/users'] button")
        page.screenshot(path=args.out / "03_admin_landing.png", full_page=True)
        page.goto(f"{args.url}/logout")
        page.click("form[action='/logout'] button")  # signing out is a POST with the session's token
        page.fill("input[name=username]", "dr.lee")
        page.fill("input[name=password]", "clinician password 1")
        page.click("button[type=submit]")
        page.screenshot(path=args.out / "04_clinician_landing.png")
        page.goto(f"{args.url}/tutor/")
        page.screenshot(path=args.out / "05_wrong_role.png")
        page.goto(f"{args.url}/dictation/")
        page.wait_for_selector("text=Transcribe", timeout=30000)
        page.get_by_role("tab", name="Transcribe", exact=True).click()
        page.locator("input[type=file]").last.set_input_files(str(args.clip))
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Transcribe", exact=True).click()
        page.wait_for_selector("text=words from", timeout=120000)
        page.screenshot(path=args.out / "06_dictation_transcript.png", full_page=True)
        browser.close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
