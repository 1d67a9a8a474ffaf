"""Two-step login in the browser: a new instructor's first login sets up the authenticator app (the QR code shows
under the Content-Security-Policy, the key as text), nothing else opens before that, and later logins take a code
or a recovery code. Then axe-core on every two-step login page, in both languages and both themes."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest

from .actions import axe_violations, describe, expect
from .conftest import Account, Site

QR_SHOWN = "img => img.complete && img.naturalWidth > 0"


def password_step(page, account: Account, path: str = "/login") -> None:
    page.goto(path)
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.locator("main form button[type=submit]").click()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.locator(".flash").first).to_contain_text("logged out")


def test_a_new_instructor_sets_up_two_step_login_then_logs_in_with_codes(site: Site, new_context, screenshot):
    instructor = site.account("instructor", name="Nia New", mfa=False)
    page = new_context().new_page()  # the CSP applies: the QR code must show under it
    password_step(page, instructor, "/login?next=/cohorts")
    expect(page).to_have_url(re.compile(r"/account/mfa/setup\?next=(/|%2F)cohorts$"))
    expect(page.locator("h1")).to_have_text("Set up two-step login")
    qr = page.locator("img.qr-code")
    expect(qr).to_be_visible()
    assert qr.evaluate(QR_SHOWN), "the QR code did not load"
    screenshot(page, "16-two-step-setup")

    page.goto("/cohorts")  # nothing else opens before it is set up
    expect(page).to_have_url(re.compile(r"/account/mfa/setup\?next=(/|%2F)cohorts$"))

    secret = page.locator("#secret-key").inner_text().replace(" ", "")
    page.fill("#code", "12345")
    page.get_by_role("button", name="Turn on two-step login").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    page.fill("#code", pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-step login").click()
    expect(page.locator("h1")).to_have_text("Your recovery codes")
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10, codes
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(re.compile(r"/cohorts$"))
    log_out(page)

    # A recovery code instead of the app, once.
    password_step(page, instructor)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.fill("#code", codes[0])
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".flash").first).to_contain_text("You used a recovery code: 9 left")
    log_out(page)

    # The app's code, as every login from now on.
    password_step(page, instructor)
    page.fill("#code", site.fresh_code(instructor.id, secret))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/courses$"))
    page.goto("/cohorts")
    expect(page.locator("h1")).to_have_text("Cohorts")


@pytest.mark.parametrize(("locale", "scheme"), [("en-US", "light"), ("zh-CN", "dark")])
def test_the_two_step_login_pages_have_no_wcag_violations(
    axe_js: Path, locale: str, scheme: str, site: Site, new_context
) -> None:
    learner = site.account(name="Tess Two-Step", mfa=True)
    page = new_context(locale=locale, color_scheme=scheme, bypass_csp=True).new_page()
    reports = []

    def check(label: str) -> None:
        if violations := axe_violations(page, axe_js):
            reports.append(describe(f"{locale} {scheme} {label}", violations))

    password_step(page, learner)
    expect(page).to_have_url(re.compile(r"/login/code$"))
    check("the code page")
    page.fill("#code", "not-a-code")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    check("the code page with an error")
    page.fill("#code", learner.one_time_code())
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/courses$"))

    page.goto("/account/mfa")
    check("two-step login: on")
    page.fill("#off-proof", "not my password")
    page.locator("form[action$='/account/mfa/disable'] [type=submit]").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    check("turning it off: the error")
    page.fill("#codes-proof", learner.password)
    page.locator("form[action$='/account/mfa/recovery-codes'] [type=submit]").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    check("new recovery codes")

    staff = site.account("admin", name="Sam Setup", mfa=False)
    page.context.clear_cookies()
    password_step(page, staff)
    expect(page.locator("h1")).to_be_visible()
    check("the set-up page, required")
    assert not reports, "\n".join(reports)
