"""Click through the call-center dashboard in headless Chromium as a supervisor; save screenshots.

    PARLANCE_ADMIN_PASSWORD=... bash scripts/run_suite.sh &
    python scripts/ui_callcenter_screenshots.py --password ... --out screenshots/callcenter

Signs in as admin, creates a supervisor, signs in as the supervisor, uploads calls (a real
two-party call, a broken file, and any --extra files), waits for the live board to show them,
opens the call detail, tries a bad routing-table edit, and shows the analytics.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright
from ui_browser import CHROMIUM, CHROMIUM_FLAGS, create_user, sign_in

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:7860")
    ap.add_argument("--password", required=True, help="the admin password")
    ap.add_argument("--out", type=Path, default=ROOT / "screenshots" / "callcenter")
    ap.add_argument("--extra", type=Path, nargs="*", default=[], help="more call recordings to upload")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    broken = args.out / "broken_call.wav"
    broken.write_bytes(b"RIFF....WAVEfmt not really audio")
    files = [str(ROOT / "tests/fixtures/audio/two_speaker_call.flac"), str(broken)] + [str(p) for p in args.extra]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        create_user(page, args.url, args.password, "sup.kim", "Kim (supervisor)", "supervisor", "supervisor password 1")
        sign_in(page, args.url, "sup.kim", "supervisor password 1")
        page.goto(f"{args.url}/callcenter/")
        page.wait_for_selector("text=Live queues", timeout=60000)
        page.get_by_role("tab", name="Upload calls").click()
        page.set_input_files("input[type=file]", files)
        page.wait_for_timeout(2000)
        page.get_by_role("button", name="Upload and process").click()
        page.wait_for_selector("text=stored and queued", timeout=60000)
        page.wait_for_timeout(3000)
        page.screenshot(path=args.out / "01_upload_progress.png", full_page=True)
        page.get_by_role("tab", name="Live queues").click()
        for _ in range(120):
            page.wait_for_timeout(2000)
            if page.locator("progress").count() == 0 and page.locator("text=queued").count() == 0:
                break
        page.wait_for_timeout(6000)
        page.screenshot(path=args.out / "02_live_queues.png", full_page=True)
        page.get_by_role("tab", name="Call detail").click()
        page.get_by_role("button", name="Refresh list").click()
        page.wait_for_timeout(1500)
        page.get_by_role("combobox", name="Call").click()
        page.get_by_role("option").first.click()
        page.get_by_role("button", name="Open", exact=True).click()
        page.wait_for_selector("text=Routing decisions", timeout=60000)
        page.wait_for_timeout(2500)
        page.screenshot(path=args.out / "03_call_detail.png", full_page=True)
        page.get_by_role("tab", name="Routing table").click()
        page.wait_for_timeout(1000)
        editor = page.locator(".cm-content").first
        editor.click()
        page.keyboard.press("Control+End")
        page.keyboard.type("\nroutes_typo: [x]\n")
        page.keyboard.press("Control+Home")
        page.keyboard.type("# edited\n")
        page.get_by_label("What changed (for the history)").fill("try a typo")
        page.get_by_role("button", name="Validate and save").click()
        page.wait_for_timeout(2000)
        page.screenshot(path=args.out / "04_routing_table.png", full_page=True)
        page.get_by_role("tab", name="Analytics").click()
        page.get_by_role("combobox", name="Period").click()
        page.get_by_role("option", name="All time").click()
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_timeout(4000)
        page.screenshot(path=args.out / "05_analytics.png", full_page=True)
        browser.close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
