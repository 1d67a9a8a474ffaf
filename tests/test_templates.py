"""The template macros: every page writes its CSRF tokens and its scrolling table regions through them
(templates/_macros/), and what they write works with CSRF on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from conftest import FIXTURE_COURSE, ROOT, do_login, lesson_url, new_client
from sqlalchemy import select

from course.clock import today
from course.cohorts import services as cohorts
from course.cohorts.enrolment import enrol
from course.cohorts.models import Cohort
from course.content.models import Course
from course.extensions import db as _db

TEMPLATES = ROOT / "templates"
# What only a macro file may write by hand: the table region (`table_region`). The CSRF token no template writes:
# `csrf_input()` (course/components.py) does, for `post_form` and the forms written out by hand.
OWNED = {"_macros/layout.html": re.compile(r"table-scroll")}
CSRF_BY_HAND = re.compile(r'csrf_token\(\)|name="[^"]*csrf_token"')


def test_only_the_macros_write_a_table_region_and_no_template_a_csrf_token():
    found = []
    for owner, pattern in OWNED.items():
        assert pattern.search((TEMPLATES / owner).read_text()), f"templates/{owner} no longer writes {pattern.pattern}"
    for by_hand in ('value="{{ csrf_token() }}"', '<input type="hidden" name="wb-csrf_token" value="x">'):
        assert CSRF_BY_HAND.search(by_hand)  # the check below sees a token written by hand
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for owner, pattern in OWNED.items():
                if name != owner and pattern.search(line):
                    found.append(f"templates/{name}:{number}: {line.strip()}  → use a macro of templates/{owner}")
            if CSRF_BY_HAND.search(line):
                found.append(f"templates/{name}:{number}: {line.strip()}  → use csrf_input() or post_form")
    assert not found, "\n".join(found)


# -- the pages, read back -----------------------------------------------------------------------------------
@dataclass
class Form:
    attrs: dict[str, str | None]
    hidden: dict[str, str] = field(default_factory=dict)
    buttons: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def token(self) -> tuple[str, str]:
        """The one CSRF token of the form, as (field name, value)."""
        tokens = [(name, value) for name, value in self.hidden.items() if re.fullmatch(r"([\w-]+-)?csrf_token", name)]
        assert len(tokens) == 1, (self.attrs, self.hidden)
        return tokens[0]


@dataclass
class Region:
    attrs: dict[str, str | None]
    caption_ids: list[str] = field(default_factory=list)


class Page(HTMLParser):
    """The POST forms and the table regions of a page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.regions: list[Region] = []
        self._form: Form | None = None
        self._open: list[tuple[Region, int]] = []  # regions being read, with the div depth they close at
        self._divs = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self._form = Form(attributes)
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and attributes.get("type") == "hidden":
            self._form.hidden[attributes["name"]] = attributes.get("value") or ""
        elif tag == "button" and self._form is not None:
            self._form.buttons.append(attributes)
        elif tag == "div":
            self._divs += 1
            if "table-scroll" in (attributes.get("class") or "").split():
                region = Region(attributes)
                self.regions.append(region)
                self._open.append((region, self._divs))
        elif tag == "caption" and attributes.get("id"):
            for region, _depth in self._open:
                region.caption_ids.append(attributes["id"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "div":
            if self._open and self._open[-1][1] == self._divs:
                self._open.pop()
            self._divs -= 1

    def form(self, action: str) -> Form:
        matches = [f for f in self.forms if f.attrs.get("action") == action]
        assert len(matches) == 1, (action, [f.attrs.get("action") for f in self.forms])
        return matches[0]


def page(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.get_data(as_text=True))


# -- a cohort and the people who see it -------------------------------------------------------------------
@dataclass
class School:
    cohort_id: int
    learner_id: int
    staff: object  # the cohort's instructor, logged in
    admin: object
    learner: object


@pytest.fixture
def school(app, loaded_course, make_user) -> School:
    """Cohorts A and B of one instructor, a learner in A, and an admin; everyone logged in, then CSRF on."""
    instructor = make_user(email="teacher@example.com", role="instructor", name="Tess Teacher")
    learner = make_user(email="lena@example.com", name="Lena Learner")
    admin = make_user(email="admin@example.com", role="admin")
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        start = today() - timedelta(weeks=2)
        cohort_ids = []
        for name in ("A", "B"):
            settings = cohorts.CohortSettings(name=name, starts_on=start, ends_on=start + timedelta(weeks=10))
            cohort_ids.append(cohorts.create_cohort(course, settings, [instructor.id]).id)
        enrol(_db.session.get(Cohort, cohort_ids[0]), _db.session.merge(learner), check_window=False)
        _db.session.commit()
    clients = []
    for user in (instructor, admin, learner):
        client = new_client(app)
        assert do_login(client, user.email).status_code == 302
        clients.append(client)
    app.config["WTF_CSRF_ENABLED"] = True
    return School(cohort_ids[0], learner.id, *clients)


# -- post_form and post_button --------------------------------------------------------------------------------
def test_post_form_writes_a_token_the_app_accepts(school):
    lesson = lesson_url("welcome")
    learner = page(school.learner, lesson)
    assert learner.forms and all(form.token[1] for form in learner.forms)

    workbook = learner.form(f"/courses/{FIXTURE_COURSE}/workbook/wb-goal")
    assert workbook.token[0] == "wb-wb-goal-csrf_token"  # named as the prefixed WorkbookForm reads it
    saved = school.learner.post(
        workbook.attrs["action"], data={"wb-wb-goal-answer": "A plan", workbook.token[0]: workbook.token[1]}
    )
    assert saved.status_code == 302

    complete = learner.form(f"{lesson}/complete")
    assert complete.attrs == {"method": "post", "action": f"{lesson}/complete"}
    assert school.learner.post(complete.attrs["action"], data=dict([complete.token])).status_code == 302

    language = learner.form("/language")  # the header's form, on every page
    assert language.attrs["class"] == "inline-form lang-form" and "next" in language.hidden
    assert school.learner.post("/language", data={"lang": "en", **dict([language.token])}).status_code in (302, 303)

    logout = page(school.learner, "/account").form("/logout")  # post_button
    assert logout.attrs == {"method": "post", "action": "/logout", "class": "inline-form"}
    assert [button.get("class") for button in logout.buttons] == ["link-button"]
    assert school.learner.post("/logout", data=dict([logout.token])).status_code == 302


def test_post_form_keeps_the_attributes_it_is_given(school):
    url = f"/cohorts/{school.cohort_id}"
    detail = page(school.staff, url)

    schedule = detail.form(f"{url}/schedule")
    assert "novalidate" in schedule.attrs and schedule.token[0] == "csrf_token"
    for action in (f"{url}/learners/{school.learner_id}/extension", f"{url}/learners/{school.learner_id}/move"):
        assert detail.form(action).attrs["class"] == "inline-form compact-form"
    unenrol = detail.form(f"{url}/learners/{school.learner_id}/unenrol")  # post_button with a class of its own
    assert unenrol.attrs["class"] == "inline-form" and unenrol.buttons[0]["class"] == "link-button"

    extension = detail.form(f"{url}/learners/{school.learner_id}/extension")
    response = school.staff.post(extension.attrs["action"], data={"days": "3", **dict([extension.token])})
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    rotate = detail.form(f"{url}/invite/rotate")
    assert school.staff.post(rotate.attrs["action"], data=dict([rotate.token])).status_code in (302, 303)

    users = page(school.admin, "/admin/users")
    assert {form.attrs["class"] for form in users.forms} >= {"inline-form compact-form", "inline-form"}
    assert all(form.token[0] == "csrf_token" and form.token[1] for form in users.forms)


# -- table_region and page_header -------------------------------------------------------------------------------
def test_every_table_region_is_reachable_and_named_by_its_caption(school):
    c = school.cohort_id
    pages = [
        (school.admin, "/admin/users"),
        (school.staff, "/cohorts"),
        (school.staff, f"/cohorts/{c}"),
        (school.staff, f"/cohorts/{c}/dashboard"),
        (school.staff, f"/cohorts/{c}/dashboard/learners"),
        (school.staff, f"/cohorts/{c}/dashboard/quizzes"),
        (school.staff, f"/cohorts/{c}/learners/{school.learner_id}"),
        (school.learner, f"/courses/{FIXTURE_COURSE}/summary"),
    ]
    for client, url in pages:
        regions = page(client, url).regions
        assert regions, url
        for region in regions:
            assert region.attrs["role"] == "region" and region.attrs["tabindex"] == "0", (url, region.attrs)
            assert region.attrs["aria-labelledby"] in region.caption_ids, (url, region)


def test_page_header_writes_the_trail_and_the_title(school):
    cohort = f"/cohorts/{school.cohort_id}"
    links = f'<a href="/cohorts">Cohorts</a> › <a href="{cohort}">A</a>'
    html = school.staff.get(f"{cohort}/edit").get_data(as_text=True)
    assert re.search(re.escape(f'<p class="crumbs">{links}</p>') + r"\s*<h1>Edit cohort</h1>", html), html
    html = school.staff.get(f"{cohort}/dashboard").get_data(as_text=True)
    assert re.search(re.escape(f'<p class="crumbs">{links} › Dashboard</p>') + r"\s*<h1>A</h1>", html), html
