"""What the lesson page and the frame of every page keep per process rather than per request, and that each
is still right: the course's row (checked against the database on every request), the links built once, and
the workbook field the lesson writes without its form (`shown_textarea`), which must be what the form renders."""

from __future__ import annotations

import re

import pytest
from conftest import FIXTURE_COURSE, lesson_url, load
from flask import Flask, render_template_string
from sqlalchemy import select, update
from test_page_costs import Statements

from course.content.models import Course, WorkbookPrompt
from course.extensions import db as _db
from course.learn.forms import WorkbookForm
from course.progress.models import WorkbookAnswer

OUTLINE = f"/courses/{FIXTURE_COURSE}"


def course_row_loads(seen: list[str]) -> list[str]:
    """The statements that read the course's whole row (its texts in other languages among them)."""
    return [s for s in seen if re.search(r"\bcourse\.i18n\b", s) and "FROM course" in s]


def change_course_elsewhere(app: Flask, **values) -> None:
    """Change the course's row as another process would: an UPDATE this process's ORM never flushed."""
    with app.app_context(), _db.engine.begin() as connection:
        connection.execute(update(Course).where(Course.key == FIXTURE_COURSE).values(**values))


# -- the course's row -------------------------------------------------------------------------------------------
def test_the_course_row_is_read_once_per_process_then_checked_by_a_light_query(app, loaded_course, client, learner):
    assert client.get(lesson_url("welcome")).status_code == 200
    with Statements(app) as seen:
        assert client.get(lesson_url("welcome")).status_code == 200
        assert client.get(OUTLINE).status_code == 200
    assert course_row_loads(seen.sql) == []
    assert len([s for s in seen.sql if "FROM course" in s and "course.content_version" in s]) == 2  # one a request


def test_a_course_changed_by_another_process_is_seen_at_the_next_request(app, loaded_course, client, learner):
    assert "Mini Founder Course" in client.get(lesson_url("welcome")).get_data(as_text=True)
    change_course_elsewhere(app, title="Renamed Elsewhere")  # its load time moves with it (`onupdate`)
    assert "Renamed Elsewhere" in client.get(lesson_url("welcome")).get_data(as_text=True)
    assert "Renamed Elsewhere" in client.get(OUTLINE).get_data(as_text=True)


def test_a_content_load_is_seen_at_the_next_request(app, loaded_course, client, learner):
    assert "Mini Founder Course" in client.get(OUTLINE).get_data(as_text=True)
    spec = loaded_course.root / FIXTURE_COURSE / "course.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("Mini Founder Course", "Tiny Founder Course"))
    assert load(app, loaded_course.root).applied
    page = client.get(lesson_url("welcome")).get_data(as_text=True)
    assert "Tiny Founder Course" in page and "Mini Founder Course" not in page


def test_an_archived_course_is_not_found_at_the_next_request(app, loaded_course, client, learner):
    assert client.get(lesson_url("welcome")).status_code == 200
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        course.archived_at = course.loaded_at
        _db.session.commit()
    assert client.get(lesson_url("welcome")).status_code == 404
    assert client.get(OUTLINE).status_code == 404


def test_a_course_archived_by_another_process_is_not_found(app, loaded_course, client, learner):
    assert client.get(OUTLINE).status_code == 200
    with app.app_context():
        loaded_at = _db.session.scalar(select(Course.loaded_at).where(Course.key == FIXTURE_COURSE))
    change_course_elsewhere(app, archived_at=loaded_at, loaded_at=loaded_at)  # its load time kept, even
    assert client.get(OUTLINE).status_code == 404
    assert client.get(lesson_url("welcome")).status_code == 404


def test_an_unknown_course_is_not_found(loaded_course, client, learner):
    assert client.get("/courses/no-such-course").status_code == 404
    assert client.get("/courses/no-such-course/lessons/welcome").status_code == 404


# -- links built once -------------------------------------------------------------------------------------------
def test_links_built_once_follow_the_application_root_of_each_request(loaded_course, client, learner):
    plain = client.get(lesson_url("welcome")).get_data(as_text=True)
    rooted = client.get(lesson_url("welcome"), environ_overrides={"SCRIPT_NAME": "/school"}).get_data(as_text=True)
    again = client.get(lesson_url("welcome")).get_data(as_text=True)
    for link in ('href="/courses"', 'action="/logout"', 'action="/language"', f'href="{lesson_url("models")}"'):
        assert link in plain and link in again
        assert link.replace('="/', '="/school/') in rooted
    assert re.search(r'<link rel="stylesheet" href="/static/css/app[.\w]*\.css">', plain)
    assert re.search(r'<link rel="stylesheet" href="/school/static/css/app[.\w]*\.css">', rooted)


def test_workbook_and_outline_links_build_what_url_for_builds(app, loaded_course, learner):
    from flask import url_for

    from course.learn.links import item_links

    with app.test_request_context("/", base_url="http://localhost/prefix"):  # under a script root, too
        course = _db.session.scalar(select(Course))
        links = item_links(course)
        for prompt in _db.session.scalars(select(WorkbookPrompt)):
            expected = url_for("learn.save_workbook", course_key=course.key, prompt_key=prompt.key)
            assert links.workbook + prompt.key == expected
        assert links.outline == url_for("learn.outline", course_key=course.key) == "/prefix/courses/mini-course"


# -- the workbook form, written by hand -------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["", "\nA plan <b>bold</b> & \"quoted\" 'single'\r\nline two "])
def test_the_workbook_form_is_what_the_form_class_renders(app, loaded_course, client, learner, text):
    if text:
        with app.app_context():
            prompt_id = _db.session.scalar(select(WorkbookPrompt.id).where(WorkbookPrompt.key == "wb-goal"))
            _db.session.add(WorkbookAnswer(user_id=learner.id, prompt_id=prompt_id, text=text))
            _db.session.commit()
    page = client.get(lesson_url("welcome")).get_data(as_text=True)
    written = re.search(r'<div class="field">.*?</div>', page, re.DOTALL).group(0)
    with app.test_request_context(headers={"Accept-Language": "en"}):  # the page's language
        form = WorkbookForm(prefix="wb-wb-goal", formdata=None, answer=text, meta={"csrf": False})
        rendered = render_template_string(
            '{% from "_macros/forms.html" import field %}{{ field(form.answer, rows=6) }}', form=form
        ).strip()

    def lines(html: str) -> list[str]:
        return [line.strip() for line in html.splitlines() if line.strip()]

    assert lines(written) == lines(rendered)
    assert "\r\n" in written  # as WTForms writes it: the line break a browser drops after <textarea>
