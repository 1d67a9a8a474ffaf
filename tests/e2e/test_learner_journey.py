"""A learner's whole journey through the fixture course, in the browser: register → outline → lessons and the
workbook → a quiz failed and retaken → every chapter → the completion summary → the public verification page.
Then the same pages on a phone-sized screen."""

from __future__ import annotations

import re
import uuid

from conftest import DEFAULT_PASSWORD, FIXTURE_COURSE

from .actions import PHONE, expect, fill_quiz, login, quiz_answers, register

CHAPTERS = [  # (lessons, quiz) in course order
    (["welcome", "models"], "intro-quiz"),
    (["data", "tuning"], "training-quiz"),
    (["pricing", "growth"], "launch-quiz"),
]
PLAN = "Build a study assistant for founders in Shenzhen."
SECONDS = re.compile(r"\d:\d\d:\d\d")  # a time of day to the second: "6:05:01 PM"
# Lesson lists whose items show a list number, though the titles carry their own ("1. 1.1 Welcome").
NUMBERED = """() => [...document.querySelectorAll('.lesson-list li, .lesson-nav li')]
    .filter(li => getComputedStyle(li).listStyleType !== 'none').length"""


def mark_complete(page) -> None:
    page.get_by_role("button", name="Mark complete and continue").click()


def submit_quiz(page, site, quiz: str, right: bool) -> None:
    expect(page.locator("h1")).to_be_visible()
    assert page.url.endswith(f"/quizzes/{quiz}"), page.url
    fill_quiz(page, quiz_answers(site, FIXTURE_COURSE, quiz, right=right))
    page.get_by_role("button", name="Submit my answers").click()
    page.wait_for_url(re.compile(rf"/quizzes/{quiz}/attempts/\d+$"))
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("Passed" if right else "Not passed yet")


def test_a_learner_goes_from_registration_to_a_verified_completion(site, new_context, screenshot) -> None:
    page = new_context().new_page()
    name = "Ada Founder"
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"

    # The catalogue, then the course outline, signed out; registering from there comes back to it.
    page.goto("/courses")
    screenshot(page, "01-catalogue")
    page.get_by_role("link", name="Mini Founder Course").first.click()
    expect(page.locator("h1")).to_have_text("Mini Founder Course")
    page.get_by_role("link", name="Register to start").click()
    register(page, name, email, DEFAULT_PASSWORD, path=page.url)
    expect(page).to_have_url(re.compile(rf"/courses/{FIXTURE_COURSE}$"))
    expect(page.locator(".progress-text").first).to_have_text("0%")
    screenshot(page, "02-outline")
    assert page.evaluate(NUMBERED) == 0

    # The first lesson: save a workbook answer, then mark the lessons complete.
    page.get_by_role("link", name="Start: 1.1 Welcome").click()
    expect(page.locator("h1")).to_have_text("1.1 Welcome")
    assert page.evaluate(NUMBERED) == 0
    page.get_by_label("Your answer").fill(PLAN)
    page.get_by_role("button", name="Save my answer").click()
    expect(page.locator(".flash-success")).to_have_text("Your answer is saved.")
    expect(page.get_by_label("Your answer")).to_have_value(PLAN)
    mark_complete(page)
    expect(page.locator("h1")).to_have_text("1.2 Models")
    mark_complete(page)

    # The chapter's quiz: failed once, then retaken and passed.
    expect(page.locator(".flash-success")).to_contain_text("the chapter quiz is open")
    screenshot(page, "04-quiz")
    submit_quiz(page, site, "intro-quiz", right=False)
    screenshot(page, "05-result-failed")
    page.get_by_role("link", name="Try again").click()
    submit_quiz(page, site, "intro-quiz", right=True)
    expect(page.locator(".feedback .explanation").first).to_contain_text("EXPLAIN-INTRO-Q1")
    screenshot(page, "06-result-passed")

    # The other chapters, through the "continue" button and the lesson buttons.
    for lessons, quiz in CHAPTERS[1:]:
        page.locator(".actions .button-primary").first.click()  # Continue: <the next lesson>
        for lesson in lessons:
            expect(page).to_have_url(re.compile(rf"/lessons/{lesson}$"))
            mark_complete(page)
        submit_quiz(page, site, quiz, right=True)
    expect(page.locator(".flash-success")).to_have_text("Congratulations — you have completed the course!")

    # The completion summary: every chapter done, the plan gathered, a public link.
    page.get_by_role("link", name="See your completion summary").click()
    expect(page.locator("h1")).to_have_text("You completed Mini Founder Course")
    expect(page.locator(".plan-answer")).to_have_text(PLAN)
    expect(page.locator(".summary-facts")).to_contain_text("100%")
    assert not SECONDS.search(page.locator(".summary-facts").inner_text()), "times on the summary to the minute"
    screenshot(page, "07-summary")
    verify_url = page.locator("a.verify-link").get_attribute("href")
    assert verify_url and "/verify/" in verify_url

    page.goto(f"/courses/{FIXTURE_COURSE}")
    expect(page.locator(".course-head .progress-text")).to_have_text("100%")
    expect(page.locator(".chapter-status")).to_have_text(["✓ Done"] * 3)

    # Anyone, signed out, can verify it.
    stranger = new_context().new_page()
    stranger.goto(verify_url)
    expect(stranger.locator("h1")).to_have_text(name)
    expect(stranger.locator(".verify-course")).to_have_text("Mini Founder Course")
    expect(stranger.locator(".verify tbody tr")).to_have_count(3)
    assert not SECONDS.search(stranger.locator(".verify").inner_text())
    expect(stranger.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot(stranger, "08-verification")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate(f"document.documentElement.scrollWidth <= Math.min(window.innerWidth, {PHONE['width']})")


LEGENDS_INSIDE = """() => [...document.querySelectorAll('fieldset.question')].filter(set => {
    const legend = set.querySelector('legend').getBoundingClientRect();
    const top = set.getBoundingClientRect().top + parseFloat(getComputedStyle(set).borderTopWidth);
    return legend.top < top;
}).map(set => set.id)"""


def fully_visible_across(page, locator) -> None:
    """On screen once scrolled to, and not cut off at either side."""
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_in_viewport()
    box = locator.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_lesson_and_quiz_fit_a_phone_screen(site, new_context, screenshot) -> None:
    learner = site.account()
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    login(page, learner)

    page.goto(f"/courses/{FIXTURE_COURSE}/lessons/welcome")
    expect(page.locator("figure.diagram pre.diagram-source")).to_be_visible()  # not rendered: its source, wrapped
    assert no_horizontal_scroll(page)
    fully_visible_across(page, page.locator("h1"))
    fully_visible_across(page, page.get_by_role("button", name="Save my answer"))
    fully_visible_across(page, page.get_by_role("button", name="Mark complete and continue"))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "10-phone-lesson")
    mark_complete(page)
    mark_complete(page)  # 1.2 Models: the quiz opens

    expect(page).to_have_url(re.compile(r"/quizzes/intro-quiz$"))
    assert no_horizontal_scroll(page)
    fully_visible_across(page, page.locator(".option label").first)
    fully_visible_across(page, page.get_by_role("button", name="Submit my answers"))
    assert page.evaluate(LEGENDS_INSIDE) == [], "a question's text crosses the border of its box"
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "11-phone-quiz")

    # A real lesson, switched to Chinese from the header: a wide diagram and long lines of CJK text.
    page.goto("/courses/ai-founder-global")
    page.locator("button[name=lang]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.locator(".lesson-list a").first.click()
    expect(page.locator("img.diagram-image")).to_be_visible()
    assert no_horizontal_scroll(page)
    fully_visible_across(page, page.locator(".lesson-footer form .button-primary"))
