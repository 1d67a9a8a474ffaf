"""The dashboard in the reader's content language: a course written in Chinese with an English translation shows
its titles, questions and options in English to an English reader and in Chinese to a Chinese one, on every
dashboard page, in its charts and in its CSV exports — as the learner pages do (course/content/i18n.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from conftest import do_login, load
from dashboard_factories import add_learner, attempt, view, workbook
from sqlalchemy import select
from test_translations import write_course

from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Course
from course.db_types import utcnow
from course.extensions import db as _db

ENGLISH = ["Bilingual course", "Chapter one", "1.1 Introduction", "Chapter one quiz"]
CHINESE = ["双语课程", "第一章", "1.1 引言", "第一章测验"]
QUESTION_EN = ["What defines a large model?", "Its scale", "Its colour"]
QUESTION_ZH = ["什么定义了大模型？", "规模", "颜色"]


@pytest.fixture
def bilingual_cohort(app, tmp_path, make_user):
    """A cohort of the bilingual course (tests/test_translations.py): a learner who read the lesson, wrote in the
    workbook and failed the quiz twice, another who never started."""
    assert load(app, write_course(tmp_path)).applied
    teacher = make_user(email="teacher@example.com", role="instructor", name="Teacher")
    now = utcnow()
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == "bilingual"))
        start = now.date() - timedelta(days=30)
        cohort = create_cohort(
            course, CohortSettings(name="Both", starts_on=start, ends_on=start + timedelta(days=90)), [teacher.id]
        )
        _db.session.commit()
        cohort_id = cohort.id
    mei = add_learner(app, cohort_id, "Mei", enrolled_at=now - timedelta(days=25))
    add_learner(app, cohort_id, "Tom", enrolled_at=now - timedelta(days=25))
    view(app, mei, "intro", now - timedelta(days=20))
    workbook(app, mei, "Start in Singapore.")
    for days in (19, 18):
        attempt(app, mei, "ch-one-quiz", {"q-scale": "b", "q-term": "pre-training"}, now - timedelta(days=days))
    return cohort_id, mei, teacher


def reader(app, email: str, accept_language: str):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    assert do_login(client, email).status_code == 302
    return client


def pages(cohort_id: int, learner_id: int) -> list[str]:
    base = f"/cohorts/{cohort_id}"
    return [
        f"{base}/dashboard",
        f"{base}/dashboard/learners",
        f"{base}/dashboard/at-risk",
        f"{base}/dashboard/quizzes",
        f"{base}/dashboard/quizzes/ch-one-quiz",
        f"{base}/learners/{learner_id}",
    ]


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("language, own, other", [("en", ENGLISH, CHINESE), ("zh-CN", CHINESE, ENGLISH)])
def test_every_dashboard_page_is_in_the_readers_language(app, bilingual_cohort, language, own, other):
    cohort_id, mei, teacher = bilingual_cohort
    client = reader(app, teacher.email, language)
    for url in pages(cohort_id, mei):
        html = client.get(url).get_data(as_text=True)
        assert own[0] in html, url  # the course's title, under every page's heading
        for title in other:
            assert title not in html, (url, title)
    overview = client.get(f"/cohorts/{cohort_id}/dashboard").get_data(as_text=True)
    funnel = overview[overview.index('id="funnel-chart-title"') :]
    assert own[2] in funnel[: funnel.index("</svg>")]  # the drop-off funnel's bar for the lesson
    grid = client.get(f"/cohorts/{cohort_id}/dashboard/learners").get_data(as_text=True)
    assert own[1] in grid
    quizzes = client.get(f"/cohorts/{cohort_id}/dashboard/quizzes").get_data(as_text=True)
    assert own[3] in quizzes


def test_question_texts_follow_the_reader(app, bilingual_cohort):
    cohort_id, mei, teacher = bilingual_cohort
    english, chinese = reader(app, teacher.email, "en"), reader(app, teacher.email, "zh-CN")
    for client, own, other in ((english, QUESTION_EN, QUESTION_ZH), (chinese, QUESTION_ZH, QUESTION_EN)):
        for url in (f"/cohorts/{cohort_id}/dashboard/quizzes/ch-one-quiz", f"/cohorts/{cohort_id}/learners/{mei}"):
            text = visible_text(client.get(url).get_data(as_text=True))
            assert all(t in text for t in own), url
            assert not any(t in text for t in other), url
    one = visible_text(english.get(f"/cohorts/{cohort_id}/learners/{mei}").get_data(as_text=True))
    assert "What is your plan?" in one and "Start in Singapore." in one  # the workbook's prompt, in English
    assert "fine-tuning" in one and "微调" not in one  # the accepted answer, in the reader's language
    one = visible_text(chinese.get(f"/cohorts/{cohort_id}/learners/{mei}").get_data(as_text=True))
    assert "你的计划是什么？" in one and "微调" in one


def _csv(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return response.get_data().decode("utf-8-sig")


@pytest.mark.parametrize("language, own, other", [("en", ENGLISH, CHINESE), ("zh-CN", CHINESE, ENGLISH)])
def test_exports_are_in_the_readers_language(app, bilingual_cohort, language, own, other):
    cohort_id, _mei, teacher = bilingual_cohort
    client = reader(app, teacher.email, language)
    grid = _csv(client, f"/cohorts/{cohort_id}/export/grid.csv")
    header = next(csv.reader(io.StringIO(grid)))
    assert any(own[1] in column for column in header) and not any(other[1] in column for column in header)
    quiz = _csv(client, f"/cohorts/{cohort_id}/export/quizzes/ch-one-quiz.csv")
    question, options = (QUESTION_EN[0], QUESTION_EN[1:]) if language == "en" else (QUESTION_ZH[0], QUESTION_ZH[1:])
    rows = list(csv.reader(io.StringIO(quiz)))[1:]  # columns: number, question id, prompt, … answer (the 10th)
    assert [row[9] for row in rows if row[1] == "q-scale"] == options
    assert {row[2] for row in rows if row[1] == "q-scale"} == {question}
    at_risk = _csv(client, f"/cohorts/{cohort_id}/export/at-risk.csv")
    for title in other:
        assert title not in grid + quiz + at_risk, title


def test_the_course_map_is_built_for_each_reader(app, bilingual_cohort):
    """Two readers of one cohort, one after the other in the same process: neither gets the other's titles."""
    cohort_id, _mei, teacher = bilingual_cohort
    english, chinese = reader(app, teacher.email, "en"), reader(app, teacher.email, "zh-CN")
    for _round in range(2):
        assert "Chapter one" in english.get(f"/cohorts/{cohort_id}/dashboard/learners").get_data(as_text=True)
        assert "第一章" in chinese.get(f"/cohorts/{cohort_id}/dashboard/learners").get_data(as_text=True)
