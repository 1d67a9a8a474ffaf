"""The outline's chapters are rendered once for each state they show and kept (course/learn/outline_html.py): the
page must still be exactly what rendering it would give — after the learner's progress moves, for another learner,
in another language, under another application root, after a content load."""

from __future__ import annotations

import re

from conftest import (
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    complete_lessons,
    do_login,
    lesson_url,
    load,
    new_client,
    submit_quiz,
)

from course.learn.outline_html import kept_count

OUTLINE = f"/courses/{FIXTURE_COURSE}"


def chapter(page: str, key: str) -> str:
    """The HTML of one chapter's section."""
    return re.search(rf'<section class="chapter" aria-labelledby="chapter-{key}">.*?</section>', page, re.S)[0]


def kept(_app) -> int:
    return kept_count()


def test_a_chapter_shows_each_step_of_the_learners_progress(app, loaded_course, client, learner):
    fresh = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert 'class="done"' not in fresh and "✓" not in fresh
    client.get(lesson_url("welcome"))
    started = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert started != fresh and re.search(r'<li class="started">\s*<a href="[^"]*/welcome"', started)
    complete_lessons(client, "welcome", "models")
    read = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert read.count('<li class="done">') == 2 and "pass the quiz" in read
    submit_quiz(client, "intro-quiz", WRONG_ANSWERS["intro-quiz"])
    failed = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert re.search(r"Best \d+% — not passed yet", failed)
    submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    passed = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert "✓ Done" in passed and "Passed, best 100%" in passed and "Left to finish" not in passed
    assert len({fresh, started, read, failed, passed}) == 5


def test_learners_in_one_state_share_a_chapters_html_and_the_same_page_renders_nothing(
    app, loaded_course, learner, client, make_user
):
    first = client.get(OUTLINE).get_data(as_text=True)
    after_one = kept(app)
    assert after_one > 0
    assert client.get(OUTLINE).get_data(as_text=True).count('<section class="chapter"') == first.count(
        '<section class="chapter"'
    )
    assert kept(app) == after_one  # the same state again: nothing new rendered
    other = new_client(app)
    make_user(email="second@example.com")
    assert do_login(other, "second@example.com").status_code == 302
    second = other.get(OUTLINE).get_data(as_text=True)
    assert kept(app) == after_one  # another learner who has opened nothing: the same chapters
    assert chapter(second, "intro") == chapter(first, "intro")


def test_each_language_has_its_own_chapters(app, loaded_course, client, learner):
    client.post("/language", data={"lang": "zh_Hans"})
    chinese = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    client.post("/language", data={"lang": "en"})
    english = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert chinese != english
    assert "Opens when the lessons are complete" in english and "Opens when the lessons are complete" not in chinese


def test_the_links_follow_the_application_root(app, loaded_course, client, learner):
    plain = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    rooted = client.get(OUTLINE, environ_overrides={"SCRIPT_NAME": "/school"}).get_data(as_text=True)
    assert f'href="{lesson_url("welcome")}"' in plain
    assert f'href="/school{lesson_url("welcome")}"' in chapter(rooted, "intro")


def test_a_content_load_shows_the_new_titles(app, loaded_course, client, learner):
    assert "1.1 Welcome" in chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    lesson = loaded_course.root / FIXTURE_COURSE / "01-basics" / "01-intro" / "01-welcome.md"
    lesson.write_text(lesson.read_text(encoding="utf-8").replace("title: 1.1 Welcome", "title: 1.1 Hello"))
    assert load(app, loaded_course.root).applied
    page = chapter(client.get(OUTLINE).get_data(as_text=True), "intro")
    assert "1.1 Hello" in page and "1.1 Welcome" not in page


def test_the_states_kept_are_bounded_and_the_page_whole_when_they_overflow(
    app, loaded_course, client, learner, monkeypatch
):
    from course.learn import outline_html

    monkeypatch.setattr(outline_html, "KEEP", 2)
    whole = client.get(OUTLINE).get_data(as_text=True)
    assert whole.count('<section class="chapter"') > 2  # more chapters than states kept
    client.get(lesson_url("welcome"))
    again = client.get(OUTLINE).get_data(as_text=True)
    assert again.count('<section class="chapter"') == whole.count('<section class="chapter"')
    assert 'class="started"' in chapter(again, "intro")
    assert max(len(states) for states in outline_html._kept.values()) == 2


def test_a_locked_chapter_says_when_it_opens_in_each_readers_time_zone(app, loaded_course, client, learner):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from test_cohort_start import SCHOOL, TODAY, join, long_date, start_cohort

    from course.accounts.models import User
    from course.extensions import db as _db

    starts = TODAY + timedelta(days=7)
    join(app, start_cohort(app, starts), learner)  # chapter 2 opens a week after the start
    opens = starts + timedelta(days=7)
    school = chapter(client.get(OUTLINE).get_data(as_text=True), "training")
    assert f"Opens {long_date(opens)}<" in school
    with app.app_context():
        _db.session.get(User, learner.id).time_zone = "America/New_York"
        _db.session.commit()
    there = datetime.combine(opens, time.min, tzinfo=SCHOOL).astimezone(ZoneInfo("America/New_York"))
    new_york = chapter(client.get(OUTLINE).get_data(as_text=True), "training")
    assert f"Opens {long_date(there.date())}, {there:%-I}:{there:%M}" in new_york
