"""The public verification page shows the course's and the quizzes' titles in the reader's language, as the
rest of the page: from the snapshot taken at completion (which keeps each title in every language the content
has), else from the live content, else the snapshot's own text."""

from __future__ import annotations

import re
import uuid
from html import unescape

import pytest
from conftest import REAL_COURSE, new_client
from sqlalchemy import select, update

from course.content.models import Course, Lesson, Quiz
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress import completion as services
from course.progress.models import Completion, LessonProgress
from course.quiz.models import Attempt

COURSE_ZH = "AI 大模型创业：如何利用国际优势？"
COURSE_EN = "Building a Large AI Model Startup: How to Use International Advantages"


@pytest.fixture
def completed(app, real_course, make_user) -> str:
    """A learner who finished the real course (a Chinese course with an English translation): the code of
    the completion, issued by the service."""
    user = make_user(email="ada@example.com", name="Ada Founder")
    now = utcnow()
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == REAL_COURSE))
        for lesson_id in _db.session.scalars(
            select(Lesson.id).where(Lesson.course_id == course.id, Lesson.archived_at.is_(None))
        ):
            _db.session.add(
                LessonProgress(
                    user_id=user.id,
                    lesson_id=lesson_id,
                    course_id=course.id,
                    first_viewed_at=now,
                    last_viewed_at=now,
                    completed_at=now,
                    time_spent_seconds=60,
                )
            )
        for quiz in _db.session.scalars(select(Quiz).where(Quiz.course_id == course.id, Quiz.archived_at.is_(None))):
            _db.session.add(
                Attempt(
                    user_id=user.id,
                    quiz_id=quiz.id,
                    number=1,
                    submission_key=uuid.uuid4().hex,
                    submitted_at=now,
                    score=9,
                    max_score=10,
                    percent=90.0,
                    pass_mark=quiz.pass_mark,
                    passed=True,
                    content_version=quiz.version,
                )
            )
        _db.session.flush()
        completion = services.maybe_complete_course(user.id, course)
        assert completion is not None
        _db.session.commit()
        return completion.verification_code


def page(app, code: str, lang: str | None) -> tuple[str, str, list[tuple[str, str]]]:
    """The page as a reader in `lang` sees it ("en" chosen on the site, "zh", or None: no preference):
    (the course line, the whole text, the rows of the score table)."""
    client = new_client(app)
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE")
    if lang == "en":
        with client.session_transaction() as session:
            session["lang"] = "en"
    elif lang:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    response = client.get(f"/verify/{code}")
    assert response.status_code == 200
    html = unescape(response.get_data(as_text=True))
    course = re.search(r'<p class="verify-course">(.*?)</p>', html).group(1)
    rows = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', html)
    return course, html, rows


def forget_translations(app, code: str) -> None:
    """Make the completion's snapshot as they were made before titles were kept in every language."""
    with app.app_context():
        completion = _db.session.scalar(select(Completion).where(Completion.verification_code == code))
        snapshot = dict(completion.snapshot)
        snapshot.pop("course_titles")
        snapshot["quizzes"] = [
            {k: v for k, v in q.items() if k in ("title", "best_percent", "attempts")} for q in snapshot["quizzes"]
        ]
        completion.snapshot = snapshot
        _db.session.commit()


def test_the_snapshot_keeps_titles_in_every_language(app, completed):
    with app.app_context():
        snapshot = _db.session.scalar(select(Completion.snapshot))
    assert snapshot["course"] == COURSE_ZH
    assert snapshot["course_titles"] == {"en": COURSE_EN}
    first = snapshot["quizzes"][0]
    assert (first["key"], first["title"], first["titles"]) == ("ch1-quiz", "第1章测验", {"en": "Chapter 1 quiz"})


@pytest.mark.parametrize("lang", ["en", "en-GB,en;q=0.9"])
def test_an_english_reader_sees_english_titles(app, completed, lang):
    course, html, rows = page(app, completed, lang)
    assert course == COURSE_EN
    assert rows[0] == ("Chapter 1 quiz", "90%")
    assert len(rows) == 9 and all(re.fullmatch(r"[\x20-\x7e]+", title) for title, _ in rows), rows
    assert "Ada Founder" in html and "Verified" in html


@pytest.mark.parametrize("lang", [None, "zh-CN,zh;q=0.9"])
def test_a_chinese_reader_sees_the_course_s_own_titles(app, completed, lang):
    course, html, rows = page(app, completed, lang)
    assert course == COURSE_ZH
    assert rows[0] == ("第1章测验", "90%")
    assert "Chapter 1 quiz" not in html and COURSE_EN not in html
    assert "Ada Founder" in html


def test_the_page_shows_name_course_date_and_scores_only(app, completed):
    _course, html, _rows = page(app, completed, "en")
    section = re.search(r'<section class="verify">(.*?)</section>', html, re.S).group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", section).split())
    assert re.fullmatch(
        rf"✓ Verified Ada Founder completed the course {re.escape(COURSE_EN)} "
        r"on \w+ \d+, \d{4}\b[^A-Za-z]*(?:[AP]M )?(?:UTC )?"
        r"Quiz scores \(best attempt\) Quiz Best score( Chapter \d quiz 90%){9}",
        text,
    ), text


def test_a_snapshot_from_before_reads_the_live_titles(app, completed):
    forget_translations(app, completed)
    course, _html, rows = page(app, completed, "en")
    assert course == COURSE_EN
    assert rows[0] == ("Chapter 1 quiz", "90%")
    assert page(app, completed, None)[2][0] == ("第1章测验", "90%")


def test_the_snapshot_s_text_when_the_content_is_gone(app, completed):
    forget_translations(app, completed)
    with app.app_context():
        _db.session.execute(update(Quiz).where(Quiz.key == "ch1-quiz").values(archived_at=utcnow()))
        _db.session.commit()
    course, _html, rows = page(app, completed, "en")
    assert course == COURSE_EN
    assert rows[0] == ("第1章测验", "90%")  # the quiz is archived: its title as it was, in the course's language
    assert rows[1][0] == "Chapter 2 quiz"
    with app.app_context():
        _db.session.execute(update(Course).where(Course.key == REAL_COURSE).values(archived_at=utcnow()))
        _db.session.commit()
    course, _html, rows = page(app, completed, "en")
    assert course == COURSE_ZH
    assert rows[1][0] == "第2章测验"


def test_the_snapshot_s_translation_outlives_the_content_s(app, completed):
    with app.app_context():
        _db.session.execute(update(Quiz).where(Quiz.key == "ch1-quiz").values(i18n={}))
        _db.session.execute(update(Course).where(Course.key == REAL_COURSE).values(i18n={}))
        _db.session.commit()
    course, _html, rows = page(app, completed, "en")
    assert (course, rows[0][0]) == (COURSE_EN, "Chapter 1 quiz")
