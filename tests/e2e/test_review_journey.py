"""Spaced review in the browser, in both languages: a learner gets a quiz question wrong, the outline says reviews
are due, the Review page shows a card (no axe violation), the learner answers it and sees the explanation and the
way back to the lesson (no axe violation either)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import FIXTURE_COURSE

from .actions import axe_violations, csrf_token, describe, expect, login, post_form

COURSE = f"/courses/{FIXTURE_COURSE}"


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_failed_question_comes_back_for_review(site, new_context, axe_js: Path, locale: str) -> None:
    context = new_context(locale=locale, bypass_csp=True)  # axe-core is injected into the page
    page = context.new_page()
    login(page, site.account())
    token = csrf_token(context)
    for lesson in ("welcome", "models"):
        post_form(context, f"{COURSE}/lessons/{lesson}/complete", {}, token)

    # The chapter quiz, answered as someone guessing: the first option of each question, whatever it is (the
    # page does not say which is right), and a wrong short answer, so at least that question comes back.
    page.goto(f"{COURSE}/quizzes/intro-quiz")
    for question in page.locator("fieldset.question").all():
        text = question.locator("input[type=text]")
        if text.count():
            text.fill("something else entirely")
        else:
            question.locator(".option label").first.click()
    page.locator(".quiz-form [type=submit]").click()
    page.wait_for_url(re.compile(r"/quizzes/intro-quiz/attempts/\d+$"))

    # The outline links to the due reviews; the Review page shows the first card, freshly shuffled.
    page.goto(COURSE)
    due = page.locator(".review-due a")
    expect(due).to_be_visible()
    expect(due).to_contain_text(re.compile(r"[1-4]"))
    due.click()
    expect(page).to_have_url(re.compile(r"/review$"))
    expect(page.locator("html")).to_have_attribute("lang", "en" if locale == "en-US" else "zh-Hans")
    form = page.locator("form.review-form")
    expect(form).to_be_visible()
    assert not page.locator('.review-form input[value="a"], .review-form input[value="b"]').count()
    violations = axe_violations(page, axe_js)
    assert not violations, describe(f"{locale} review card", violations)

    # Answered (the first option, right or wrong): the result, the explanation and the way back to the lesson.
    first_option = form.locator(".option label").first
    if first_option.count():
        first_option.click()
    else:
        form.locator("input[type=text]").fill("an answer")
    form.locator("[type=submit]").click()
    result = page.locator("#review-result")
    expect(result).to_be_visible()
    expect(result.locator(".explanation")).to_contain_text("EXPLAIN-INTRO-Q")
    back = result.locator(f'a[href^="{COURSE}"]')  # to the question's lesson (or the course, if it names none)
    expect(back).to_be_visible()
    violations = axe_violations(page, axe_js)
    assert not violations, describe(f"{locale} review result", violations)

    # On to the next card, or back to the course when none is left.
    page.locator("main .actions a.button").click()
    expect(page.locator("h1")).to_be_visible()
