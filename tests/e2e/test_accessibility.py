"""Accessibility in the browser: axe-core finds no WCAG 2.1 A or AA violation on any page, in both languages,
signed out and for every role; the learner's path works with the keyboard alone; errors are announced.

axe-core is injected into each page, so the contexts that run it bypass the page's Content-Security-Policy (the
journeys, in contexts that keep it, check that the app's own scripts run under it). Every page is checked before
the test fails, so one run lists every violation. axe leaves duplicate ids "to review"; they are checked here too.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from conftest import FIXTURE_COURSE, REAL_COURSE
from sqlalchemy import select

from course.auth.models import User
from course.cohorts.models import Cohort
from course.cohorts.services import CohortSettings, create_cohort, enrol, today
from course.content.models import Course, Lesson
from course.progress.models import Completion
from course.quiz.models import Quiz

from .actions import axe_violations, csrf_token, describe, expect, login, quiz_answers
from .conftest import Account, Site

# Both languages; the system's light and dark themes (contrast depends on the theme, not the language).
LOOKS = [("en-US", "light"), ("zh-CN", "dark")]
ROLES = ["visitor", "learner", "instructor", "admin"]
DUPLICATE_IDS = """() => {
    const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
    return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""
DIAGRAMS_DRAWN = """() => [...document.querySelectorAll('img.diagram-image')].length
    === document.querySelectorAll('pre.mermaid').length"""


@dataclass
class World:
    """What the pages show: a learner who finished the mini course (a quiz failed once on the way), in a cohort
    run by an instructor, and an admin."""

    learner: Account
    instructor: Account
    admin: Account
    cohort_id: int
    invite: str
    verify: str
    real_lesson: str
    real_quiz: str


def post(context, path: str, token: str, pairs: list[tuple[str, str]]) -> None:  # noqa: ANN001
    """POST a form as the browser would (repeated names for checkboxes), without opening the page."""
    body = urlencode([*pairs, ("csrf_token", token)])
    response = context.request.post(
        path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, max_redirects=0
    )
    assert response.status in (302, 303), (path, response.status, response.text()[:300])


def finish_the_mini_course(site: Site, context, learner: Account) -> None:  # noqa: ANN001
    token = csrf_token(context, "/login")
    post(context, "/login", token, [("email", learner.email), ("password", learner.password)])
    token = csrf_token(context, "/courses")
    base = f"/courses/{FIXTURE_COURSE}"
    post(context, f"{base}/workbook/wb-goal", token, [("wb-wb-goal-answer", "A tutor for first-time founders.")])
    chapters = [
        (["welcome", "models"], "intro-quiz"),
        (["data", "tuning"], "training-quiz"),
        (["pricing", "growth"], "launch-quiz"),
    ]
    for lessons, quiz in chapters:
        for lesson in lessons:
            post(context, f"{base}/lessons/{lesson}/complete", token, [])
        tries = (False, True) if quiz != "launch-quiz" else (True,)
        for right in tries:
            answers = quiz_answers(site, FIXTURE_COURSE, quiz, right=right)
            pairs = [("submission_key", uuid.uuid4().hex)]
            for key, (_kind, value) in answers.items():
                pairs += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
            post(context, f"{base}/quizzes/{quiz}", token, pairs)


@pytest.fixture(scope="module")
def world(site: Site, browser) -> World:  # noqa: ANN001
    learner = site.account(name="Lin Learner")
    instructor = site.account("instructor", name="Ian Instructor")
    admin = site.account("admin", name="Ada Admin")
    with site.session() as session:
        course = session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(days=30)
        cohort = create_cohort(
            course,
            CohortSettings(name="Autumn founders", starts_on=start, ends_on=start + timedelta(days=120)),
            [instructor.id],
        )
        enrol(cohort, session.get(User, learner.id), source="test", check_window=False)
        cohort_id, invite = cohort.id, cohort.invite_code
    context = browser.new_context(base_url=site.url)
    try:
        finish_the_mini_course(site, context, learner)
    finally:
        context.close()
    with site.session() as session:
        code = session.scalar(select(Completion.verification_code).where(Completion.user_id == learner.id))
        real = session.scalar(select(Course.id).where(Course.key == REAL_COURSE))
        real_lesson = session.scalar(select(Lesson.key).where(Lesson.course_id == real).order_by(Lesson.id))
        real_quiz = session.scalar(select(Quiz.key).where(Quiz.course_id == real).order_by(Quiz.id))
        assert session.get(Cohort, cohort_id).enrolled_count == 1
    assert code, "the learner did not complete the mini course"
    return World(learner, instructor, admin, cohort_id, f"/join/{invite}", f"/verify/{code}", real_lesson, real_quiz)


def pages_for(role: str, w: World) -> list[str]:
    """Every page the role sees. A path may end in `#submit` (the page after submitting its form empty)."""
    course, real = f"/courses/{FIXTURE_COURSE}", f"/courses/{REAL_COURSE}"
    cohort, dash = f"/cohorts/{w.cohort_id}", f"/cohorts/{w.cohort_id}/dashboard"
    if role == "visitor":
        return [
            "/courses",
            course,
            real,
            "/login",
            "/login#submit",
            "/register",
            "/register#submit",
            "/password/forgot",
            "/password/forgot#submit",
            "/no/such/page",
            w.verify,
            w.invite,
        ]
    if role == "learner":
        return [
            "/courses",
            course,
            f"{course}/lessons/welcome",
            f"{course}/lessons/growth",
            real,
            f"{real}/lessons/{w.real_lesson}",
            f"{real}/quizzes/{w.real_quiz}",
            f"{course}/quizzes/intro-quiz",
            f"{course}/quizzes/intro-quiz#submit",
            f"{course}/quizzes/intro-quiz/attempts/1",
            f"{course}/quizzes/intro-quiz/attempts/2",
            f"{course}/quizzes/launch-quiz/attempts/1",
            f"{course}/quizzes/intro-quiz/attempts",
            f"{course}/summary",
            f"{course}/summary/print",
            w.verify,
            w.invite,
            "/no/such/page",
        ]
    if role == "instructor":
        return [
            "/courses",
            "/cohorts",
            "/cohorts/new",
            "/cohorts/new#submit",
            cohort,
            f"{cohort}/edit",
            dash,
            f"{dash}/learners",
            f"{dash}/at-risk",
            f"{dash}/quizzes",
            f"{dash}/quizzes/intro-quiz",
            f"{cohort}/learners/{w.learner.id}",
        ]
    return ["/admin/users", "/admin/users?q=learner", "/cohorts", "/cohorts/new", cohort, dash, f"{dash}/learners"]


def open_page(page, path: str) -> None:  # noqa: ANN001
    target, _, action = path.partition("#")
    page.goto(target)
    if action == "submit":
        page.locator("main form[method=post] [type=submit]").last.click()
        expect(page.locator("[role=alert]").first).to_be_visible()
    if page.locator("pre.mermaid").count():
        page.wait_for_function(DIAGRAMS_DRAWN)


@pytest.mark.parametrize(("locale", "scheme"), LOOKS)
@pytest.mark.parametrize("role", ROLES)
def test_no_wcag_violations_on_any_page(
    axe_js: Path, role: str, locale: str, scheme: str, world: World, new_context
) -> None:  # noqa: ANN001
    page = new_context(locale=locale, color_scheme=scheme, bypass_csp=True).new_page()
    if role != "visitor":
        login(page, getattr(world, role))
    expected_lang = "en" if locale.startswith("en") else "zh-Hans"
    reports = []
    for path in pages_for(role, world):
        open_page(page, path)
        label = f"{role} {locale} {scheme} {path}"
        assert page.locator("html").get_attribute("lang") == expected_lang, label
        violations = axe_violations(page, axe_js)
        if violations:
            reports.append(describe(label, violations))
        if duplicates := page.evaluate(DUPLICATE_IDS):  # an aria-labelledby would name the wrong element
            reports.append(f"{label}: duplicate ids {duplicates}")
    assert not reports, "\n".join(reports)


# -- the keyboard alone ----------------------------------------------------------------------------------------
def focused(page, selector: str) -> bool:  # noqa: ANN001
    return page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, limit: int = 60) -> None:  # noqa: ANN001
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def outline_shown(page) -> bool:  # noqa: ANN001
    return page.evaluate("getComputedStyle(document.activeElement).outlineStyle !== 'none'")


FOCUS_RING_CONTRAST = """() => {
    const el = document.activeElement;
    const parse = c => c.match(/[\\d.]+/g).map(Number);
    const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    let node = el.parentElement, behind = [255, 255, 255];
    for (; node; node = node.parentElement) {  // the first opaque background around the element
        const c = parse(getComputedStyle(node).backgroundColor);
        if (c.length < 4 || c[3] > 0) { behind = c; break; }
    }
    const [hi, lo] = [luminance(parse(getComputedStyle(el).outlineColor)), luminance(behind)].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
}"""


def test_a_learner_reads_and_passes_a_quiz_with_the_keyboard_alone(site, new_context) -> None:  # noqa: ANN001
    page = new_context().new_page()
    login(page, site.account())
    page.goto(f"/courses/{FIXTURE_COURSE}/lessons/welcome")

    # The first Tab reaches a visible skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    assert focused(page, "a.skip-link"), page.evaluate("document.activeElement.outerHTML")
    expect(page.locator("a.skip-link")).to_be_in_viewport()
    assert outline_shown(page)
    page.keyboard.press("Enter")
    assert focused(page, "main#main")
    page.keyboard.press("Tab")
    assert focused(page, "main a"), page.evaluate("document.activeElement.outerHTML")
    assert outline_shown(page), "a focused link shows no outline"

    # Two lessons marked complete from the keyboard; the second opens the quiz.
    for title in ("1.2 Models", "Chapter 1 quiz"):
        tab_to(page, "button.button-primary")
        page.keyboard.press("Enter")
        expect(page.locator("h1")).to_have_text(title)

    # Submitting with nothing answered is refused, and the error is announced.
    tab_to(page, ".quiz-form button[type=submit]")
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert.first).to_be_visible()
    expect(alert.first).to_contain_text("Please answer every question")
    assert page.locator("fieldset.question[aria-describedby]").count() == 4

    # Then answered from the keyboard: arrows and Space for options, typing for text.
    for key, (kind, answer) in quiz_answers(site, FIXTURE_COURSE, "intro-quiz").items():
        if kind == "short_text":
            tab_to(page, f"#in-{key}")
            page.keyboard.press("Control+A")
            page.keyboard.type(answer)
        elif kind == "multiple":
            for option in answer:
                tab_to(page, f"#in-{key}-{option}")
                page.keyboard.press("Space")
        else:
            tab_to(page, f"input[name='{key}']")
            for _ in range(8):
                if focused(page, f"#in-{key}-{answer[0]}"):
                    break
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
        checked = page.locator(f"input[name='{key}']:checked").evaluate_all("els => els.map(e => e.value)")
        assert kind == "short_text" or sorted(checked) == sorted(answer), (key, checked, answer)
    tab_to(page, ".quiz-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/quizzes/intro-quiz/attempts/\d+$"))
    expect(page.locator(".verdict")).to_contain_text("Passed")


def test_the_language_switch_works_from_the_keyboard(new_context) -> None:  # noqa: ANN001
    page = new_context(locale="zh-CN").new_page()
    page.goto("/courses")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    tab_to(page, "button[name=lang]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Courses")
    tab_to(page, "button[name=lang]")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_focus_ring_stands_out_in_both_themes(scheme: str, new_context) -> None:  # noqa: ANN001
    """WCAG 1.4.11: a focus indicator has 3:1 contrast with what surrounds it (the header, the page)."""
    page = new_context(color_scheme=scheme).new_page()
    page.goto(f"/courses/{FIXTURE_COURSE}")
    for selector in ("a.skip-link", ".site-header a", "main a"):
        tab_to(page, selector)
        assert outline_shown(page), selector
        contrast = page.evaluate(FOCUS_RING_CONTRAST)
        assert contrast >= 3, f"{scheme}: the focus ring on {selector} has a contrast of {contrast:.2f}"
