"""The browser benchmark (bench/browser.py) as a smoke check, without its timings: a diagram lesson opened with a cold
cache on an emulated mobile network shows its diagram pictures and loads no script; opened again, it asks the server
for no static file (hashed names, cached for good); and the pages a learner and an instructor open log no console
error at all (the CSP's style-src included, which the other browser tests let pass)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from browser_checks import cold_and_repeat, console_errors, logged_in_state
from conftest import FIXTURE_COURSE, REAL_COURSE
from sqlalchemy import select

from course.clock import today
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Chapter, Course, Lesson, Quiz

from .actions import login


def diagram_lesson_and_quiz(site) -> tuple[str, str]:
    with site.session() as session:
        lessons = session.execute(
            select(Lesson.key, Lesson.body_html)
            .join(Course, Course.id == Lesson.course_id)
            .join(Chapter, Chapter.id == Lesson.chapter_id)
            .where(Course.key == REAL_COURSE, Lesson.archived_at.is_(None))
            .order_by(Chapter.module_id, Chapter.position, Lesson.position)
        ).all()
        quiz = session.scalar(
            select(Quiz.key)
            .join(Course, Course.id == Quiz.course_id)
            .where(Course.key == FIXTURE_COURSE)
            .order_by(Quiz.id)
        )
    lesson = next(key for key, html in lessons if 'class="diagram-image"' in html)
    return f"/courses/{REAL_COURSE}/lessons/{lesson}", f"/courses/{FIXTURE_COURSE}/quizzes/{quiz}"


def test_a_diagram_lesson_is_light_cached_for_good_and_every_page_is_free_of_console_errors(site, browser) -> None:
    lesson, quiz = diagram_lesson_and_quiz(site)
    learner = logged_in_state(browser, site.url, lambda page: login(page, site.account()))

    cold, repeat = cold_and_repeat(browser, site.url, learner, lesson)
    assert cold.diagrams >= 1 and cold.diagrams_decoded == cold.diagrams, cold
    diagram = next(urlsplit(url).path for url in cold.static_requests if "/static/diagrams/" in url)
    assert not [url for url in cold.network if url.endswith(".js")], cold.network  # no Mermaid, no script at all
    assert cold.transferred > 0 and not cold.errors, cold
    # A static file changed since `make setup` built the hashed copies is served by its plain name, and asked again.
    assert repeat.static_requests == [], f"asked again on a repeat view (stale build?): {repeat.static_requests}"
    assert repeat.diagrams_decoded == repeat.diagrams == cold.diagrams and not repeat.errors

    instructor = site.account("instructor")
    with site.session() as session:
        course = session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        settings = CohortSettings("Page weight", today() - timedelta(days=7), today() + timedelta(days=90))
        cohort = create_cohort(course, settings, [instructor.id])
        session.flush()
        dashboard = f"/cohorts/{cohort.id}/dashboard"
    teacher = logged_in_state(browser, site.url, lambda page: login(page, instructor))

    errors = {
        **console_errors(browser, site.url, learner, [lesson, f"/courses/{REAL_COURSE}", quiz, "/"]),
        **console_errors(browser, site.url, teacher, [dashboard]),
        **console_errors(browser, site.url, None, ["/login", "/", diagram]),  # a picture opened by itself too
    }
    assert not any(errors.values()), {path: found for path, found in errors.items() if found}
