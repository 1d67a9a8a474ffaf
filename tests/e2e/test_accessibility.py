"""Accessibility in the browser: axe-core finds no WCAG 2.1 A or AA violation on any page, in both languages and
both themes, signed out and for every role, on a desktop and on a phone; no page is wider than a phone's screen
(WCAG 1.4.10, reflow: axe cannot see it); the learner's path works with the keyboard alone; errors are announced.

"Any page" is checked, not trusted: `pages_for` lists the pages, and a test matches the list against the app's URL
map, so a new page that nobody added to the list fails it (a route that is not a page is excluded by name, with
the reason). Pages shown after a POST (a form with errors, the CSV report, a quiz refused) are reached by doing
what a person does: a path's `#action` names it (`ACTIONS`).

axe-core is injected into each page, so the contexts that run it bypass the page's Content-Security-Policy (the
journeys, in contexts that keep it, check that the app's own scripts run under it). Every page is checked before
the test fails, so one run lists every problem. axe leaves duplicate ids "to review"; they are checked here too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode, urlsplit

import pytest
from conftest import DEFAULT_PASSWORD, FIXTURE_COURSE, REAL_COURSE, server_url
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from course import create_app
from course.accounts.models import User
from course.accounts.tokens import RESET_PASSWORD, SET_PASSWORD, make_token
from course.clock import today
from course.cohorts.announcements import check_draft, post_announcement
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort
from course.cohorts.schedule import schedule_rows
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Course, Lesson, Quiz
from course.db_types import utcnow
from course.outbox.models import OutboxMessage
from course.privacy.deletion import delete_account
from course.progress.models import Completion

from .actions import (
    PHONE,
    axe_violations,
    csrf_token,
    describe,
    expect,
    form_from_page,
    login,
    option_input_id,
    quiz_answers,
)
from .conftest import TEST_ROUTES, Account, Site, add_test_routes


class Look(NamedTuple):
    locale: str
    scheme: str
    phone: bool
    every_page: bool  # axe on every page, or on the core pages only (each page is still opened and measured)

    def __str__(self) -> str:
        return f"{self.locale} {self.scheme} {'phone' if self.phone else 'desktop'}"


# Both languages × both themes (contrast depends on the theme, line lengths on the language). Every page is run
# through axe in two of the four looks, and the core pages (`Core`) in the other two, on a phone, where every
# page is also measured for width.
LOOKS = [
    Look("en-US", "light", phone=False, every_page=True),
    Look("zh-CN", "dark", phone=False, every_page=True),
    Look("en-US", "dark", phone=True, every_page=False),
    Look("zh-CN", "light", phone=True, every_page=False),
]
ROLES = ["visitor", "learner", "latecomer", "instructor", "admin"]
DUPLICATE_IDS = """() => {
    const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
    return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""
DIAGRAMS_DRAWN = """() => [...document.querySelectorAll('img.diagram-image')].every(img => img.complete)"""
WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth, document.documentElement.clientWidth]"


class Core(str):
    """A page path that is also checked in the looks that check only the core pages."""


@dataclass
class World:
    """What the pages show: a learner who finished the mini course (a quiz failed once on the way, a quiz's
    attempts all used), in a cohort run by an instructor; a latecomer, in a cohort of the mini course that has
    ended and in a cohort of the real course whose later chapters are not open yet; password links; an admin."""

    learner: Account
    latecomer: Account
    instructor: Account
    admin: Account
    cohort_id: int
    invite: str
    verify: str
    real_lesson: str
    real_quiz: str
    locked_quiz: str  # in the latecomer's real-course cohort, a quiz whose chapter opens next week
    reset_token: str
    set_token: str
    withdrawn: str  # the verification page of a completion whose learner deleted their account
    unsubscribe: str = "/unsubscribe/not-a-signed-link"  # the link in the learner's announcement email


def post(context, path: str, token: str, pairs: list[tuple[str, str]]) -> None:
    """POST a form as the browser would (repeated names for checkboxes), without opening the page."""
    body = urlencode([*pairs, ("csrf_token", token)])
    response = context.request.post(
        path, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, max_redirects=0
    )
    assert response.status in (302, 303), (path, response.status, response.text()[:300])


def log_in(context, account: Account) -> str:
    """Log the context in without opening a page; returns a CSRF token for its next forms."""
    post(context, "/login", csrf_token(context, "/login"), [("email", account.email), ("password", account.password)])
    if account.one_time_code is not None:  # two-step login: the code page, in the new session the password began
        post(context, "/login/code", csrf_token(context, "/login/code"), [("code", account.one_time_code())])
    return csrf_token(context, "/courses")


def finish_the_mini_course(site: Site, context, learner: Account) -> None:
    token = log_in(context, learner)
    base = f"/courses/{FIXTURE_COURSE}"
    post(context, f"{base}/workbook/wb-goal", token, [("wb-wb-goal-answer", "A tutor for first-time founders.")])
    chapters = [
        (["welcome", "models"], "intro-quiz"),
        (["data", "tuning"], "training-quiz"),  # two attempts allowed: both used
        (["pricing", "growth"], "launch-quiz"),
    ]
    for lessons, quiz in chapters:
        for lesson in lessons:
            post(context, f"{base}/lessons/{lesson}/complete", token, [])
        tries = (False, True) if quiz != "launch-quiz" else (True,)
        for right in tries:
            answers = quiz_answers(site, FIXTURE_COURSE, quiz, right=right)
            pairs = form_from_page(context.request.get(f"{base}/quizzes/{quiz}").text(), answers)
            post(context, f"{base}/quizzes/{quiz}", token, pairs)


@pytest.fixture(scope="module")
def world(site: Site, browser) -> World:
    learner = site.account(name="Lin Learner")
    latecomer = site.account(name="Lou Latecomer")
    instructor = site.account("instructor", name="Ian Instructor")
    admin = site.account("admin", name="Ada Admin")
    resetting = site.account(name="Rae Reset")
    leaving = site.account(name="Wes Withdrawn")
    with site.session() as session:
        start = today() - timedelta(days=30)  # the school's today: it needs the app
        mini = session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        real = session.scalar(select(Course).where(Course.key == REAL_COURSE))
        cohort = create_cohort(
            mini,
            CohortSettings(name="Autumn founders", starts_on=start, ends_on=start + timedelta(days=120)),
            [instructor.id],
        )
        enrol(cohort, session.get(User, learner.id), source="test", check_window=False)
        ended = create_cohort(
            mini,
            CohortSettings(
                name="Last spring", starts_on=start - timedelta(days=100), ends_on=today() - timedelta(days=10)
            ),
            [instructor.id],
        )
        enrol(ended, session.get(User, latecomer.id), source="test", check_window=False)
        starting = create_cohort(
            real, CohortSettings(name="Starting today", starts_on=today(), ends_on=today() + timedelta(days=90)), []
        )
        enrol(starting, session.get(User, latecomer.id), source="test", check_window=False)
        session.flush()
        later = [
            chapter.id for _module, chapter, opens_on in schedule_rows(starting) if opens_on and opens_on > today()
        ]
        locked_quiz = session.scalar(select(Quiz.key).where(Quiz.chapter_id.in_(later)).order_by(Quiz.id))
        cohort_id, invite = cohort.id, cohort.invite_code
        user = session.get(User, resetting.id)
        reset_token, set_token = make_token(user, RESET_PASSWORD), make_token(user, SET_PASSWORD)
        gone = session.get(User, leaving.id)
        withdrawn = Completion(user_id=gone.id, course_id=mini.id, started_at=utcnow(), snapshot={"name": gone.name})
        session.add(withdrawn)
        session.flush()
        delete_account(gone, by=gone)
        withdrawn_code = withdrawn.verification_code
    with site.app.test_request_context(method="POST"), site.session() as session:  # on the learner's outline
        draft = check_draft("Week 2 starts", "Read **Models** first.\n\n- one\n- [two](https://example.com)")
        post_announcement(session.get(Cohort, cohort_id), session.get(User, instructor.id), draft, "e2e-world")
    context = browser.new_context(base_url=site.url)
    try:
        finish_the_mini_course(site, context, learner)
        context.clear_cookies()
        token = log_in(context, latecomer)  # the first chapter read, so its quiz is open but for the cohort's end
        for lesson in ("welcome", "models"):
            post(context, f"/courses/{FIXTURE_COURSE}/lessons/{lesson}/complete", token, [])
    finally:
        context.close()
    with site.session() as session:
        code = session.scalar(select(Completion.verification_code).where(Completion.user_id == learner.id))
        real_id = session.scalar(select(Course.id).where(Course.key == REAL_COURSE))
        real_lesson = session.scalar(select(Lesson.key).where(Lesson.course_id == real_id).order_by(Lesson.id))
        real_quiz = session.scalar(select(Quiz.key).where(Quiz.course_id == real_id).order_by(Quiz.id))
        assert session.get(Cohort, cohort_id).enrolled_count == 1
        links = select(OutboxMessage.unsubscribe_url).where(OutboxMessage.user_id == learner.id)
        unsubscribe = session.scalar(links.where(OutboxMessage.unsubscribe_url.is_not(None)).limit(1))
    assert code, "the learner did not complete the mini course"
    assert locked_quiz, "no quiz of the real course opens after its first week"
    return World(
        learner, latecomer, instructor, admin, cohort_id, f"/join/{invite}", f"/verify/{code}",
        real_lesson, real_quiz, locked_quiz, reset_token, set_token, f"/verify/{withdrawn_code}",
        urlsplit(unsubscribe).path,
    )  # fmt: skip


def error_pages() -> list[str]:
    """The error pages a real page never shows on purpose (404, 403 and 405 come from real pages)."""
    return [
        f"{TEST_ROUTES}/abort/400",
        Core(f"{TEST_ROUTES}/abort/500"),
        f"{TEST_ROUTES}/abort/503",
        f"{TEST_ROUTES}/crash",
    ]


def pages_for(role: str, w: World) -> list[str]:
    """Every page the role sees. A path may end in `#action`: the page after doing it (see `ACTIONS`)."""
    course, real = f"/courses/{FIXTURE_COURSE}", f"/courses/{REAL_COURSE}"
    cohort, dash = f"/cohorts/{w.cohort_id}", f"/cohorts/{w.cohort_id}/dashboard"
    if role == "visitor":
        return [
            "/",
            Core("/courses"),
            Core(course),
            real,
            "/login",
            Core("/login#submit"),
            "/register",
            Core("/register#submit"),
            "/password/forgot",
            "/password/forgot#submit",
            f"/password/reset/{w.reset_token}",
            Core(f"/password/reset/{w.reset_token}#submit"),
            f"/password/set/{w.set_token}",
            f"/password/set/{w.set_token}#submit",
            "/password/reset/not-a-valid-link",  # 404, with the app's own message
            "/password/set/not-a-valid-link",
            Core("/no/such/page"),  # 404
            "/logout",  # 405: a page for a 4xx without a template of its own
            "/login/code",  # no password typed yet: back to /login (test_mfa_journey checks the code page)
            Core(w.verify),
            w.withdrawn,  # 410: the credential was withdrawn
            "/verify",  # the form that checks a code
            "/verify/not-a-real-code",  # 404: not found, with the form to try another code
            "/unsubscribe/not-a-signed-link",  # 404
            w.unsubscribe,  # the page of an email's unsubscribe link, before its button
            f"{w.unsubscribe}#unsubscribe",  # and after: done
            w.invite,
            *error_pages(),
        ]
    if role == "learner":
        return [
            "/courses",
            Core(course),
            Core(f"{course}#calendar-link"),  # "Add to calendar": the link made (or reset), to copy
            Core(f"{course}/lessons/welcome"),
            f"{course}/lessons/growth",
            real,
            Core(f"{real}/lessons/{w.real_lesson}"),
            f"{real}/quizzes/{w.real_quiz}",
            f"{course}/quizzes/intro-quiz",
            Core(f"{course}/quizzes/intro-quiz#submit"),
            Core(f"{course}/quizzes/intro-quiz/attempts/1"),
            f"{course}/quizzes/intro-quiz/attempts/2",
            f"{course}/quizzes/launch-quiz/attempts/1",
            f"{course}/quizzes/intro-quiz/attempts",
            f"{course}/quizzes/training-quiz",  # every attempt used
            Core(f"{course}/review"),  # a card due: a question failed on the way
            Core(f"{course}/review#review-answer"),  # a card answered: its result and explanation
            Core(f"{course}/summary"),
            Core(f"{course}/summary/print"),
            "/account",
            "/account#api-token",  # a personal access token made: shown once, then listed
            "/account/mfa",  # two-step login: off
            Core("/account/mfa/setup"),  # the QR code and the key
            "/account/mfa/setup#submit",  # no code typed: the error
            "/account/delete",
            Core("/account/delete#submit"),  # no password typed: the errors, nothing deleted
            w.verify,
            w.invite,
            "/cohorts",  # 403
            "/no/such/page",
            *error_pages(),
        ]
    if role == "latecomer":
        return [
            Core(course),
            f"{course}/quizzes/intro-quiz",
            Core(f"{course}/quizzes/intro-quiz#answer"),  # refused: the cohort has ended
            f"{course}/quizzes/training-quiz",  # closed until the chapter's lessons are read
            f"{course}/summary",  # not complete yet
            Core(real),
            Core(f"{real}/quizzes/{w.locked_quiz}"),  # 403: the chapter opens next week
        ]
    if role == "instructor":
        return [
            "/courses",
            "/cohorts",
            "/cohorts/new",
            Core("/cohorts/new#submit"),
            Core(cohort),
            f"{cohort}#no-file",
            Core(f"{cohort}#csv-problems"),
            f"{cohort}#csv-enrolled",
            f"{cohort}/edit",
            Core(f"{cohort}/edit#clear-name"),
            Core(dash),
            Core(f"{dash}/learners"),
            f"{dash}/at-risk",
            f"{dash}/at-risk/remind",  # the reminder's preview: recipients, the message, the note
            f"{dash}/quizzes",
            Core(f"{dash}/quizzes/intro-quiz"),
            Core(f"{cohort}/learners/{w.learner.id}"),
            Core(f"{cohort}/learners/{w.learner.id}/remind"),
            Core(f"{cohort}/activity"),  # the cohort's audit entries
            Core(f"{cohort}/announcements"),
            Core(f"{cohort}/announcements#preview"),  # a draft previewed
            f"{cohort}/announcements#submit",  # posted empty: the errors
            "/account",
            "/account/mfa",  # two-step login: on, and required
            Core("/admin/users"),  # 403
            *error_pages(),
        ]
    return [
        Core("/admin/users"),
        "/admin/users?q=learner",
        Core("/admin/audit"),
        "/admin/audit?action=login&since=2020-01-01",
        "/admin/audit?user=nobody%40example.com",  # 400: no such account, said at the field
        "/admin/emails",  # the outbox: the world's invitations and announcement
        "/cohorts",
        Core("/cohorts/new"),
        cohort,
        f"{cohort}/edit",
        dash,
        f"{dash}/learners",
        f"{cohort}/activity",
        f"{cohort}/announcements",
        "/account",
        "/account/mfa",
        f"/admin/users/{w.learner.id}/delete",  # the confirmation page, never confirmed
        "/admin/users?role=learner&status=active",
        "/admin/users?status=asleep",  # 400: not a status, said at the field
        "/admin/users/new",
        "/admin/users/new#submit",  # every field marked
        f"/admin/users/{w.learner.id}/disable",  # the confirmation page, never confirmed
        "/lti/platforms",  # LMS platforms (LTI 1.3): none registered, the tool's addresses
        "/lti/platforms/new",
        "/lti/platforms/new#submit",  # every field marked
        "/lti/links",  # the links an LMS launched, and their rosters
    ]


# -- what a person does on a page before it is checked -----------------------------------------------------
def submit(page) -> None:
    page.locator("main form[method=post] [type=submit]").last.click()


def expect_alert(page) -> None:
    expect(page.locator("[role=alert]").first).to_be_visible()


def upload(page, csv: str) -> None:
    page.set_input_files("#file", files=[{"name": "learners.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.locator("#enrol [type=submit]").click()


def answer_anything(page) -> None:
    for question in page.locator("fieldset.question").all():
        text = question.locator("input[type=text]")
        if text.count():
            text.fill("an answer")
        else:
            question.locator(".option label").first.click()
    page.locator(".quiz-form [type=submit]").click()


def answer_review(page) -> None:
    form = page.locator("form.review-form")
    option = form.locator(".option label").first
    if option.count():
        option.click()
    else:
        form.locator("input[type=text]").fill("an answer")
    form.locator("[type=submit]").click()


ACTIONS: dict[str, Callable[[Any], None]] = {
    # a personal access token made on the account page: shown once
    "api-token": lambda page: (
        page.fill("#token-name", "Reports"),
        page.locator('form[action$="/account/api-tokens"] input[type=checkbox]').first.check(),
        page.fill("#token-password", DEFAULT_PASSWORD),  # a token needs the current password
        page.locator('form[action$="/account/api-tokens"] [type=submit]').click(),
        expect(page.locator("#new-api-token")).to_be_visible(),
    ),
    # the page's last form sent as it is (empty, on most pages): its errors
    "submit": lambda page: (submit(page), expect_alert(page)),
    # the cohort form with its name cleared
    "clear-name": lambda page: (page.fill("#name", ""), submit(page), expect_alert(page)),
    # the cohort page again after the CSV form was sent without a file
    "no-file": lambda page: (page.locator("#enrol [type=submit]").click(), expect_alert(page)),
    # the CSV report: a file with problems, then a good one (a new account each time)
    "csv-problems": lambda page: (upload(page, "email,name\nnot-an-email,\n"), expect_alert(page)),
    "csv-enrolled": lambda page: (
        upload(page, f"email,name\nnew-{uuid.uuid4().hex[:8]}@example.com,Nell New\n"),
        expect(page.locator(".notice-success")).to_be_visible(),
    ),
    # an email's unsubscribe link, its button pressed: done
    "unsubscribe": lambda page: (submit(page), expect(page.locator("main [role=status]")).to_be_visible()),
    # an announcement written and previewed, not posted
    "preview": lambda page: (
        page.fill("#title", "Office hours"),
        page.fill("#body", "Thursday at **5 pm**:\n\n1. questions\n2. [the notes](https://example.com)"),
        page.locator("main form [type=submit]").first.click(),
        expect(page.locator("#preview")).to_be_visible(),
    ),
    # the outline's calendar: the link asked for (or, already there, reset), then shown with its buttons
    "calendar-link": lambda page: (
        page.locator("#calendar form [type=submit]").click(),
        expect(page.locator("#calendar-link")).to_be_visible(),
    ),
    # the Review page's card answered (its first option, or a typed answer): the result
    "review-answer": lambda page: (answer_review(page), expect(page.locator("#review-result")).to_be_visible()),
    # a quiz answered and sent when it cannot be taken any more
    "answer": lambda page: (answer_anything(page), expect_alert(page)),
}


def open_page(page, path: str) -> None:
    target, _, action = path.partition("#")
    page.goto(target)
    if action:
        ACTIONS[action](page)
    if page.locator("img.diagram-image").count():
        page.wait_for_function(DIAGRAMS_DRAWN)


# The pages' markup does not depend on the database engine: the axe matrix runs once, on SQLite (the journeys in
# tests/e2e run on both engines, and every page's server side runs on both in the rest of the suite).
ON_POSTGRES = (server_url() or "").startswith("postgresql")


@pytest.mark.skipif(ON_POSTGRES, reason="the markup is the same on PostgreSQL: the axe matrix runs on SQLite")
@pytest.mark.parametrize("look", LOOKS, ids=lambda look: str(look).replace(" ", "-"))
@pytest.mark.parametrize("role", ROLES)
def test_no_wcag_violations_on_any_page(axe_js: Path, role: str, look: Look, world: World, new_context) -> None:
    screen = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if look.phone else {}
    page = new_context(locale=look.locale, color_scheme=look.scheme, bypass_csp=True, **screen).new_page()
    if role != "visitor":
        login(page, getattr(world, role))
    expected_lang = "en" if look.locale.startswith("en") else "zh-Hans"
    reports = []
    for path in pages_for(role, world):
        if not (look.every_page or look.phone or isinstance(path, Core)):
            continue
        open_page(page, path)
        label = f"{role} {look} {path}"
        assert page.locator("html").get_attribute("lang") == expected_lang, label
        if look.phone:  # WCAG 1.4.10: no page scrolls sideways (a wide table scrolls in its own box)
            scroll, inner, client = page.evaluate(WIDTH)
            if scroll > min(inner, client, PHONE["width"]):
                reports.append(f"{label}: {scroll} px wide on a {PHONE['width']} px screen")
        if look.every_page or isinstance(path, Core):
            if violations := axe_violations(page, axe_js):
                reports.append(describe(label, violations))
            if duplicates := page.evaluate(DUPLICATE_IDS):  # an aria-labelledby would name the wrong element
                reports.append(f"{label}: duplicate ids {duplicates}")
    assert not reports, "\n".join(reports)


REGION_NAMES = """() => [...document.querySelectorAll('main [role=region]')]
    .map(r => document.getElementById(r.getAttribute('aria-labelledby')).textContent.trim())"""


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_item_statistics_name_each_landmark_once(axe_js: Path, locale: str, world: World, new_context) -> None:
    """axe's landmark-unique (a best practice, checked on every page by `axe_violations`): one table of options
    per question, each a scrolling region named after its own question, never twice "How often each answer was
    chosen". A page with two regions named alike is caught, so the check is not idle."""
    page = new_context(locale=locale, bypass_csp=True).new_page()
    login(page, world.instructor)
    page.goto(f"/cohorts/{world.cohort_id}/dashboard/quizzes/intro-quiz")
    names = page.evaluate(REGION_NAMES)
    assert len(names) >= 4 and len(set(names)) == len(names), names
    assert axe_violations(page, axe_js) == []
    page.set_content('<main><div role="region" aria-label="Answers">1</div><div role="region" aria-label="Answers">2'
                     "</div></main>")  # fmt: skip
    assert "landmark-unique" in {v["id"] for v in axe_violations(page, axe_js)}


# GET routes that are not pages, so not in `pages_for`, and why. Every other GET route must be opened there.
API_OPERATIONS = "catalogue course_outline me my_progress my_attempts my_workbook my_completion cohorts cohort"
API_OPERATIONS += " cohort_learners cohort_learner users"
NOT_PAGES = {
    "static": "files: stylesheets, scripts, icons",
    "ops.favicon": "an icon",
    "ops.healthz": "JSON for the load balancer",
    "api.docs": "Swagger UI's reference of the JSON API, for developers (its markup is the library's)",
    "api.openapi": "JSON: the API's OpenAPI document",
    "badges.did_json": "JSON: the issuer's DID document",
    "badges.status_list": "JSON: a signed Bitstring Status List credential",
    "progress.summary_badge": "JSON: the learner's Open Badge credential, a download",
    "progress.verify_badge": "JSON: a completion's Open Badge credential, a download",
    **dict.fromkeys(
        [f"api.{name}" for name in API_OPERATIONS.split()], "JSON: an operation of the API (a bearer token, no session)"
    ),
    "dashboard.export_grid": "a CSV download",
    "dashboard.export_at_risk": "a CSV download",
    "dashboard.export_quiz": "a CSV download",
    "admin.audit_csv": "a CSV download",
    "learn.calendar_feed": "an iCalendar file, for calendar apps",
    "lti.jwks": "JSON: the LTI tool's public keys, for LMS platforms",
    "lti.login": "an LMS's OIDC login initiation: a redirect back to the LMS (or a 400 page)",
    "lti.edit_platform": "the form of lti.new_platform (checked there), filled with a registered platform",
}


def test_the_page_list_opens_every_page_of_the_app() -> None:
    """A page added to the app without being added to `pages_for` would never be checked: this fails instead."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": "memory://"})
    add_test_routes(app)
    someone = Account(1, "someone@example.com", "Someone", "learner")
    w = World(someone, someone, someone, someone, 1, "/join/code", "/verify/code", "l", "q", "q", "t", "t", "/verify/x")
    urls = app.url_map.bind("localhost")
    opened = set()
    for role in ROLES:
        for path in pages_for(role, w):
            try:
                endpoint, _args = urls.match(urlsplit(path).path, method="GET")
            except (NotFound, MethodNotAllowed):  # an error page on purpose: "/no/such/page", "/logout"
                continue
            opened.add(endpoint)
    pages = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    assert set(NOT_PAGES) <= pages, f"excluded but gone from the app: {sorted(set(NOT_PAGES) - pages)}"
    unchecked = pages - opened - set(NOT_PAGES)
    assert not unchecked, f"pages that no accessibility check opens: {sorted(unchecked)}"


# -- the keyboard alone ----------------------------------------------------------------------------------------
def focused(page, selector: str) -> bool:
    return page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def outline_shown(page) -> bool:
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


def test_a_learner_reads_and_passes_a_quiz_with_the_keyboard_alone(site, new_context) -> None:
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
                tab_to(page, f"#{option_input_id(page, key, kind, option)}")
                page.keyboard.press("Space")
        else:
            tab_to(page, f"input[name='{key}']")
            for _ in range(8):
                if focused(page, f"#{option_input_id(page, key, kind, answer[0])}"):
                    break
                page.keyboard.press("ArrowDown")
            page.keyboard.press("Space")
        checked = page.locator(f"input[name='{key}']:checked").evaluate_all("els => els.map(e => e.id)")
        wanted = [] if kind == "short_text" else [option_input_id(page, key, kind, option) for option in answer]
        assert kind == "short_text" or sorted(checked) == sorted(wanted), (key, checked, answer)
    tab_to(page, ".quiz-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/quizzes/intro-quiz/attempts/\d+$"))
    expect(page.locator(".verdict")).to_contain_text("Passed")


def test_the_language_switch_works_from_the_keyboard(new_context) -> None:
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
def test_the_focus_ring_stands_out_in_both_themes(scheme: str, new_context) -> None:
    """WCAG 1.4.11: a focus indicator has 3:1 contrast with what surrounds it (the header, the page)."""
    page = new_context(color_scheme=scheme).new_page()
    page.goto(f"/courses/{FIXTURE_COURSE}")
    for selector in ("a.skip-link", ".site-header a", "main a"):
        tab_to(page, selector)
        assert outline_shown(page), selector
        contrast = page.evaluate(FOCUS_RING_CONTRAST)
        assert contrast >= 3, f"{scheme}: the focus ring on {selector} has a contrast of {contrast:.2f}"


# -- on paper ------------------------------------------------------------------------------------------------
PRINTED = """() => {
    const visible = e => e.getClientRects().length > 0;
    const shown = [...document.querySelectorAll('.site-header, .site-footer, main form, main button, main .button')]
        .filter(visible).map(e => e.outerHTML.slice(0, 80));
    const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const luminance = c => { const [r, g, b] = c.match(/[\\d.]+/g).map(Number);
                             return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b); };
    const pale = [...document.querySelectorAll('main *')]
        .filter(e => visible(e) && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
        .filter(e => luminance(getComputedStyle(e).color) > 0.1).map(e => e.tagName + ' ' + getComputedStyle(e).color);
    return {shown, pale, background: getComputedStyle(document.body).backgroundColor};
}"""


@pytest.mark.parametrize("view", ["summary", "summary/print"])
def test_a_page_prints_black_on_white_without_the_site_around_it(view: str, world: World, new_context) -> None:
    """Printed from a dark-themed browser: no header, footer, buttons or forms; dark text on a white page."""
    page = new_context(color_scheme="dark").new_page()
    login(page, world.learner)
    page.goto(f"/courses/{FIXTURE_COURSE}/{view}")
    page.emulate_media(media="print", color_scheme="dark")
    printed = page.evaluate(PRINTED)
    assert printed == {"shown": [], "pale": [], "background": "rgb(255, 255, 255)"}, printed
    icons = page.locator("link[rel~=icon]").evaluate_all("links => links.map(l => l.getAttribute('href'))")
    assert any(href.endswith(".png") for href in icons) and any(href.endswith(".svg") for href in icons), icons
