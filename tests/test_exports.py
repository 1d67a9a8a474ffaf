"""The dashboard's CSV exports say what the pages say: times in the reader's time zone as ISO 8601 with the
offset (the header naming the zone), percentages rounded as the pages round them, yes/no and labels in the
reader's language; and they stay safe for spreadsheets (course/csv_download.py, course/dashboard/exports.py)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import RIGHT_ANSWERS, do_login, new_client
from dashboard_factories import add_learner, attempt, make_cohort, view
from sqlalchemy import update

from course.accounts.models import User
from course.csv_download import cell, content_disposition
from course.db_types import utcnow
from course.extensions import db as _db


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


@pytest.fixture
def teacher(make_user):
    return make_user(email="teacher@example.com", role="instructor", name="Teacher")


def client_for(app, email: str, accept_language: str = "en"):
    client = new_client(app)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    assert do_login(client, email).status_code == 302
    return client


SEEN = (utcnow() - timedelta(days=2)).replace(microsecond=0)  # Ann's last activity


def local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).isoformat()


@pytest.fixture
def cohort(app, loaded_course, teacher):
    """Eight learners, each with one lesson opened at a known second and a first attempt at the intro quiz: five of
    the eight get q1 right (62.5 %: the page shows 62 %), Ann passes with 100 %, the others score 50 %."""
    cohort_id = make_cohort(app, [teacher.id], name="Exports")
    for i, name in enumerate(["Ann", "Ben", "Cat", "Dan", "Eva", "Fox", "Gus", "Hal"]):
        uid = add_learner(app, cohort_id, name, enrolled_at=SEEN - timedelta(days=10))
        view(app, uid, "welcome", SEEN - timedelta(minutes=i))
        answers = dict(RIGHT_ANSWERS["intro-quiz"]) if name == "Ann" else {
            **RIGHT_ANSWERS["intro-quiz"], "intro-q2": ["a"], "intro-q4": "pre-training"
        }  # fmt: skip
        if i >= 5:
            answers["intro-q1"] = "b"
        attempt(app, uid, "intro-quiz", answers, SEEN - timedelta(hours=1))
    return cohort_id


def test_times_are_in_the_readers_zone_with_their_offset(app, cohort, teacher):
    client = client_for(app, teacher.email)
    rows = read_csv(client.get(f"/cohorts/{cohort}/export/grid.csv"))
    ann = next(r for r in rows if r["Full name"] == "Ann")
    assert ann["Last active (Asia/Shanghai)"] == local(SEEN, "Asia/Shanghai")  # the site's zone, as on the page
    assert ann["Last active (Asia/Shanghai)"].endswith("+08:00")
    assert ann["Enrolled (Asia/Shanghai)"] == local(SEEN - timedelta(days=10), "Asia/Shanghai")
    at_risk = client.get(f"/cohorts/{cohort}/export/at-risk.csv").get_data().decode("utf-8-sig")
    assert "Last active (Asia/Shanghai)" in at_risk.splitlines()[0]

    with app.app_context():  # the reader chooses New York: the pages and the exports follow
        _db.session.execute(update(User).where(User.id == teacher.id).values(time_zone="America/New_York"))
        _db.session.commit()
    rows = read_csv(client.get(f"/cohorts/{cohort}/export/grid.csv"))
    ann = next(r for r in rows if r["Full name"] == "Ann")
    assert ann["Last active (America/New_York)"] == local(SEEN, "America/New_York")
    assert re.search(r"-0[45]:00$", ann["Last active (America/New_York)"])
    assert datetime.fromisoformat(ann["Last active (America/New_York)"]) == SEEN


def test_numbers_are_rounded_as_on_the_page(app, cohort, teacher):
    client = client_for(app, teacher.email)
    page = client.get(f"/cohorts/{cohort}/dashboard/quizzes/intro-quiz").get_data(as_text=True)
    rows = read_csv(client.get(f"/cohorts/{cohort}/export/quizzes/intro-quiz.csv"))
    q1 = [r for r in rows if r["Question id"] == "intro-q1"]
    assert q1[0]["Facility %"] == "62"  # 5 of 8: the page says 62 %, the CSV once said 0.625
    assert re.search(r"<td>62%</td><td>[−\d.]+</td>", page)
    assert [r["Share %"] for r in q1] == ["62", "38", "0"] and "5 (62%)" in page and "3 (38%)" in page
    discrimination = float(q1[0]["Discrimination"])  # a number, to two decimals, as on the page
    assert discrimination == round(discrimination, 2) and -1 < discrimination < 1
    assert f"discrimination {discrimination:.2f}".replace("-", "−") in page

    grid = read_csv(client.get(f"/cohorts/{cohort}/export/grid.csv"))
    best = {r["Full name"]: r["Chapter 1 Introduction: best quiz %"] for r in grid}
    assert best["Ann"] == "100" and best["Ben"] == "50"  # not "100.0": the grid shows 100 %
    assert {r["Completed"] for r in grid} == {"no"}


def test_a_chinese_reader_gets_a_chinese_export(app, cohort, teacher):
    client = client_for(app, teacher.email, accept_language="zh-CN")
    grid = read_csv(client.get(f"/cohorts/{cohort}/export/grid.csv"))
    assert "姓名" in grid[0] and {r["已完成"] for r in grid} == {"否"}
    quiz = client.get(f"/cohorts/{cohort}/export/quizzes/intro-quiz.csv").get_data().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(quiz)))
    assert rows[0][:3] == ["题目", "题目 ID", "题干"]
    assert not {"yes", "no"} & {value for row in rows[1:] for value in row}
    keyed = {row[10]: row[11] for row in rows[1:] if row[1] == "intro-q1"}  # answer id → correct answer
    assert keyed == {"a": "是", "b": "否", "c": "否"}


def test_csv_cells(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and cell("-1+2") == "'-1+2" and cell("@x") == "'@x"
        assert cell(-3) == -3 and cell(None) == "" and cell("王小明") == "王小明"
        assert cell(True) == "yes" and cell(False) == "no"
        assert cell(datetime(2026, 12, 4, 14, 9, 8, 123, tzinfo=UTC)) == "2026-12-04T22:09:08+08:00"
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert cell(True) == "是" and cell(False) == "否"


def test_the_file_name_keeps_non_ascii_letters():
    disposition = content_disposition("cohort-1-春季班-grid.csv")
    assert 'filename="cohort-1-grid.csv"' in disposition and "filename*=UTF-8''cohort-1-%E6%98%A5" in disposition
