"""What the headless-browser scripts share: Debian's chromium flags, signing in, creating a user."""
from __future__ import annotations

from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def create_user(page: Page, url: str, admin_password: str, username: str, display_name: str, role: str,
                password: str) -> None:
    """Sign in as admin, add the account on the landing page, sign out."""
    sign_in(page, url, "admin", admin_password)
    page.fill("form[action='/admin/users'] input[name=username]", username)
    page.fill("form[action='/admin/users'] input[name=display_name]", display_name)
    page.select_option("select[name=role]", role)
    page.fill("form[action='/admin/users'] input[name=password]", password)
    page.click("form[action='/admin/users'] button")
    page.goto(f"{url}/logout")
    page.click("form[action='/logout'] button")  # signing out is a POST with the session's token
