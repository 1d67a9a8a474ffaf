"""A user's language and time zone: chosen once, on every device.

The language of a page: the signed-in user's stored language, else this browser's choice (the switch), else its
Accept-Language, else Chinese. Dates are stored in UTC and shown in the user's time zone, else the site's
(BABEL_DEFAULT_TIMEZONE, Asia/Shanghai). Dates put into translated messages are formatted for the reader.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import (
    FIXTURE_COURSE,
    RIGHT_ANSWERS,
    complete_lessons,
    do_login,
    new_client,
    quiz_url,
    submit_quiz,
)
from sqlalchemy import select, update

from config import TestingConfig
from course.accounts.models import User
from course.clock import site_today
from course.cohorts import services as cohorts
from course.cohorts.enrolment import enrol, enrolment_window_problem
from course.cohorts.models import Cohort
from course.content.models import Course
from course.extensions import db as _db
from course.quiz.models import Attempt

MOMENT = datetime(2026, 11, 22, 21, 52, 23, tzinfo=UTC)  # 05:52:23 the next day in Shanghai


def stored(app, user_id: int) -> tuple[str | None, str | None]:
    with app.app_context():
        user = _db.session.get(User, user_id)
        return user.language, user.time_zone


def h1(client, url: str = "/courses") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r"<h1>(.*?)</h1>", html, re.S).group(1).strip()


def speaks_chinese(client) -> bool:
    return re.search(r'<html lang="([^"]+)"', client.get("/courses").get_data(as_text=True)).group(1) == "zh-Hans"


def set_preferences(client, language: str = "en", time_zone: str = ""):
    return client.post("/account/preferences", data={"prefs-language": language, "prefs-time_zone": time_zone})


def logout(client) -> None:
    assert client.post("/logout").status_code == 302


# -- the language ------------------------------------------------------------------------------------------
def test_switching_while_signed_in_stores_the_language_on_the_user(app, client, learner):
    assert stored(app, learner.id) == (None, None)
    assert not speaks_chinese(client)  # the English browser
    assert client.post("/language", data={"lang": "zh_Hans", "next": "/courses"}).status_code == 302
    assert stored(app, learner.id)[0] == "zh_Hans"
    assert speaks_chinese(client)


def test_the_stored_language_survives_logout_and_login_and_reaches_another_device(app, client, learner):
    client.post("/language", data={"lang": "zh_Hans"})
    logout(client)
    assert speaks_chinese(client)  # this browser keeps its choice after logging out
    assert do_login(client, learner.email).status_code == 302
    assert speaks_chinese(client)

    other = new_client(app)  # another device, whose browser asks for English and never used the switch
    assert not speaks_chinese(other)
    assert do_login(other, learner.email).status_code == 302
    assert speaks_chinese(other)  # the user's language, not the browser's
    logout(other)
    assert not speaks_chinese(other)  # logged out, that browser is back to its own language


def test_the_users_language_beats_this_browsers_earlier_choice(app, client, make_user):
    user = make_user(email="ada@example.com")
    with app.app_context():
        _db.session.execute(update(User).where(User.id == user.id).values(language="en"))
        _db.session.commit()
    client.post("/language", data={"lang": "zh_Hans"})
    assert speaks_chinese(client)
    do_login(client, user.email)
    assert not speaks_chinese(client)
    assert stored(app, user.id)[0] == "en"  # a stored choice is not replaced by a visitor's


def test_a_language_chosen_before_logging_in_becomes_the_users(app, make_user):
    user = make_user(email="ada@example.com")
    browser = new_client(app)
    browser.post("/language", data={"lang": "zh_Hans"})
    assert do_login(browser, user.email).status_code == 302
    assert stored(app, user.id)[0] == "zh_Hans"
    assert speaks_chinese(browser)


def test_a_language_chosen_before_registering_becomes_the_users(app):
    browser = new_client(app)
    browser.post("/language", data={"lang": "zh_Hans"})
    response = browser.post(
        "/register",
        data={
            "name": "Lin",
            "email": "lin@example.com",
            "password": "a long passphrase here",
            "confirm": "a long passphrase here",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(select(User.language).where(User.email == "lin@example.com")) == "zh_Hans"


def test_without_a_choice_nothing_is_stored_and_the_browser_decides(app, client, learner):
    assert stored(app, learner.id) == (None, None)
    assert not speaks_chinese(client)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert speaks_chinese(client)


def test_a_signed_out_visitors_choice_stays_in_the_session(app):
    browser = new_client(app)
    browser.post("/language", data={"lang": "zh_Hans"})
    assert speaks_chinese(browser)
    with browser.session_transaction() as session:
        assert session["lang"] == "zh_Hans"
    with app.app_context():
        assert _db.session.scalar(select(User.id)) is None  # nobody to store it on


# -- the account page --------------------------------------------------------------------------------------
def test_the_account_page_offers_language_and_time_zone(client, learner):
    html = client.get("/account").get_data(as_text=True)
    assert 'action="/account/preferences"' in html
    assert '<option selected value="en">English</option>' in html  # the page's language
    assert '<option value="zh_Hans">简体中文</option>' in html
    assert '<option selected value="">The site’s time zone (Asia/Shanghai)</option>' in html
    zones = re.findall(r'<option (?:selected )?value="([^"]+)">', html.split('id="prefs-time_zone"', 1)[1])
    assert zones[:2] == ["Asia/Shanghai", "Asia/Hong_Kong"]  # the common ones first
    assert "Europe/Paris" in zones and len(zones) == len(set(zones)) > 400


def test_saving_language_and_time_zone(app, client, learner):
    response = set_preferences(client, "zh_Hans", "Europe/Paris")
    assert response.status_code == 303 and response.location.endswith("/account")
    assert stored(app, learner.id) == ("zh_Hans", "Europe/Paris")
    html = client.get("/account").get_data(as_text=True)
    assert "已保存你的语言和时区。" in html  # the message, in the language just chosen
    assert '<option selected value="Europe/Paris">' in html
    assert '<option selected value="zh_Hans">' in html
    logout(client)
    assert speaks_chinese(client)  # and this browser keeps it

    set_back = new_client(app)
    do_login(set_back, learner.email)
    assert set_preferences(set_back, "en", "").status_code == 303
    assert stored(app, learner.id) == ("en", None)  # "" is the site's time zone


@pytest.mark.parametrize(
    ("language", "time_zone", "field"),
    [
        ("fr", "", "prefs-language"),
        ("", "", "prefs-language"),
        ("en", "Mars/Olympus", "prefs-time_zone"),
        ("en", "asia/shanghai", "prefs-time_zone"),
    ],
)
def test_bad_preferences_are_refused_and_nothing_changes(app, client, learner, language, time_zone, field):
    response = set_preferences(client, language, time_zone)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Please correct the highlighted fields." in html
    assert f'id="{field}-error"' in html
    assert stored(app, learner.id) == (None, None)


def test_the_preferences_form_needs_a_csrf_token(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(email="ada@example.com")
    browser = new_client(app)
    page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert (
        browser.post(
            "/login", data={"email": user.email, "password": "correct horse battery", "csrf_token": token}
        ).status_code
        == 302
    )
    assert set_preferences(browser, "zh_Hans").status_code == 400
    assert stored(app, user.id) == (None, None)
    token = re.search(
        r'id="prefs-csrf_token" name="prefs-csrf_token" type="hidden" value="([^"]+)"',
        browser.get("/account").get_data(as_text=True),
    ).group(1)
    response = browser.post(
        "/account/preferences", data={"prefs-language": "zh_Hans", "prefs-time_zone": "", "prefs-csrf_token": token}
    )
    assert response.status_code == 303
    assert stored(app, user.id) == ("zh_Hans", None)


# -- time zones --------------------------------------------------------------------------------------------
@pytest.fixture
def attempt_page(app, loaded_course, client, learner):
    """The result page of the learner's first attempt, submitted at MOMENT (UTC)."""
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302
    with app.app_context():
        _db.session.execute(update(Attempt).values(submitted_at=MOMENT))
        _db.session.commit()
    return f"{quiz_url('intro-quiz')}/attempts/1"


def submitted(client, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    text = re.search(r'<p class="meta">(Submitted [^<]*|提交于[^<]*)</p>', html).group(1)
    return " ".join(text.replace("\u202f", " ").split())


def test_times_are_shown_in_the_sites_time_zone(app, client, attempt_page):
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"
    assert submitted(client, attempt_page) == "Submitted Nov 23, 2026, 5:52:23 AM"  # 21:52 UTC + 8 h


def test_a_users_time_zone_overrides_the_sites(app, client, learner, attempt_page):
    set_preferences(client, "en", "America/New_York")
    assert submitted(client, attempt_page) == "Submitted Nov 22, 2026, 4:52:23 PM"  # UTC − 5 h in November
    set_preferences(client, "en", "UTC")
    assert submitted(client, attempt_page) == "Submitted Nov 22, 2026, 9:52:23 PM"


def test_the_site_time_zone_comes_from_the_configuration(app, client, attempt_page):
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Europe/London"
    assert submitted(client, attempt_page) == "Submitted Nov 22, 2026, 9:52:23 PM"


def test_the_time_zone_is_read_from_the_environment(monkeypatch):
    from config import Config

    monkeypatch.setenv("BABEL_DEFAULT_TIMEZONE", "Asia/Tokyo")
    assert Config.from_env()["BABEL_DEFAULT_TIMEZONE"] == "Asia/Tokyo"
    monkeypatch.setenv("BABEL_DEFAULT_TIMEZONE", "Tokyo")
    with pytest.raises(RuntimeError, match="unknown time zone"):
        Config.from_env()
    monkeypatch.delenv("BABEL_DEFAULT_TIMEZONE")
    assert "BABEL_DEFAULT_TIMEZONE" not in Config.from_env()
    assert Config.BABEL_DEFAULT_TIMEZONE == "Asia/Shanghai"


def test_a_stored_zone_that_is_no_longer_known_falls_back_to_the_sites(app, client, learner, attempt_page):
    with app.app_context():
        _db.session.execute(update(User).where(User.id == learner.id).values(time_zone="Nowhere/Gone"))
        _db.session.commit()
    assert submitted(client, attempt_page) == "Submitted Nov 23, 2026, 5:52:23 AM"


# -- dates inside messages -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("accept", "opens", "closed"),
    [
        ("en", "Enrolment opens on December 1, 2026.", "Enrolment closed on March 31, 2026."),
        ("zh-CN", "报名将于 2026年12月1日 开始。", "报名已于 2026年3月31日 截止。"),
    ],
)
def test_enrolment_window_messages_format_the_date_for_the_reader(app, accept, opens, closed):
    cohort = Cohort(enrol_opens_on=date(2026, 12, 1), enrol_closes_on=date(2026, 3, 31), ends_on=date(2026, 6, 1))
    with app.test_request_context("/", headers={"Accept-Language": accept}):
        assert enrolment_window_problem(cohort, on=date(2026, 11, 1)) == opens
        cohort.enrol_opens_on = None
        assert enrolment_window_problem(cohort, on=date(2026, 4, 1)) == closed


@pytest.mark.parametrize(
    ("accept", "expected"), [("en", "Your cohort ended on {en}"), ("zh-CN", "你所在的班级已于 {zh} 结束")]
)
def test_the_cohort_ended_message_formats_the_date_for_the_reader(
    app, loaded_course, client, learner, accept, expected
):
    ended = site_today(TestingConfig.BABEL_DEFAULT_TIMEZONE) - timedelta(days=2)
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        cohort = cohorts.create_cohort(
            course, cohorts.CohortSettings(name="Past", starts_on=ended - timedelta(weeks=6), ends_on=ended), []
        )
        enrol(cohort, _db.session.get(User, learner.id), source="instructor", check_window=False)
        _db.session.commit()
    complete_lessons(client, "welcome", "models")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    response = submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    en = f"{ended:%B} {ended.day}, {ended.year}"
    zh = f"{ended.year}年{ended.month}月{ended.day}日"
    assert expected.format(en=en, zh=zh) in html, html
    assert ended.isoformat() not in html


# -- numbers --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("accept", "expected"), [("en", "12,345 users"), ("zh-CN", "12,345 位用户")])
def test_counts_in_messages_are_formatted_for_the_reader(app, accept, expected):
    from flask import render_template_string

    with app.test_request_context("/", headers={"Accept-Language": accept}):
        html = render_template_string(
            "{{ ngettext('%(count)s user', '%(count)s users', n, count=n|numberformat) }}", n=12345
        )
    assert html == expected


def test_the_dashboard_charts_count_with_the_readers_digit_grouping(app):
    from course.dashboard.routes import _percent_of

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert _percent_of(12345, 20000) == "12,345 (62%)"
        assert _percent_of(1500, 0) == "1,500"


# -- the migration ----------------------------------------------------------------------------------------------
def test_the_migration_adds_and_removes_the_two_columns(tmp_path):
    import flask_migrate
    import sqlalchemy as sa
    from conftest import build_app, dispose, fresh_database

    def columns(app) -> set[str]:
        with app.app_context():
            return {c["name"] for c in sa.inspect(_db.engine).get_columns("user_account")}

    with fresh_database("fc_user_language", tmp_path) as url:
        app = build_app(url)
        try:
            with app.app_context():
                flask_migrate.upgrade(revision="0007")
                _db.session.execute(
                    sa.text(
                        "INSERT INTO user_account (email, name, password_hash, role, active, session_token, "
                        "created_at) VALUES ('ada@example.com', 'Ada', 'x', 'learner', true, 't', CURRENT_TIMESTAMP)"
                    )
                )
                _db.session.commit()
            assert not {"language", "time_zone"} & columns(app)
            with app.app_context():
                flask_migrate.upgrade(revision="0008")
                row = _db.session.execute(sa.text("SELECT email, language, time_zone FROM user_account")).one()
                assert tuple(row) == ("ada@example.com", None, None)  # nothing chosen yet: browser and site decide
                _db.session.execute(sa.text("UPDATE user_account SET language = 'en', time_zone = 'Asia/Tokyo'"))
                _db.session.commit()
                flask_migrate.downgrade(revision="0007")
            assert not {"language", "time_zone"} & columns(app)
            with app.app_context():
                assert _db.session.execute(sa.text("SELECT email FROM user_account")).scalar_one() == "ada@example.com"
        finally:
            dispose(app)
