"""LTI 1.3, proven against a platform we did not write: `lti1p3platform` runs a small LMS on loopback
(tests/lti_platform.py), our app runs under a real WSGI server, and every launch goes over real HTTP — OIDC login,
the signed id_token, the tool's JWKS, the platform's JWKS, the token endpoint, grades and the roster."""

from __future__ import annotations

import contextlib
import json
import re
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from conftest import RIGHT_ANSWERS, build_app, complete_lessons, dispose, do_login, new_client, submit_quiz
from flask import Flask
from lti_platform import CLIENT_ID, DEPLOYMENT_ID, INSTRUCTOR, LEARNER, TestPlatform, serve
from pylti1p3.exception import LtiException
from sqlalchemy import func, select, update

from course.db_types import utcnow
from course.extensions import db as _db


@dataclass
class Lms:
    tool_url: str
    platform: TestPlatform
    key_dir: Path
    app: Flask  # the served tool

    @property
    def url(self) -> str:
        return self.platform.url


@pytest.fixture(scope="module")
def lms(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lms]:
    """Our app (CSRF on, its own key) and the test LMS, each served over HTTP for the whole module."""
    from course.lti import keys

    key_dir = tmp_path_factory.mktemp("lti-keys")
    keys.generate(key_dir)
    tool = build_app(database_url, LTI_KEY_DIR=str(key_dir), WTF_CSRF_ENABLED=True)
    with serve(tool) as tool_url:
        platform = TestPlatform(tool_url)
        with serve(platform.wsgi()) as platform_url:
            platform.url = platform_url
            yield Lms(tool_url, platform, key_dir, tool)
    dispose(tool)


@pytest.fixture
def registered(app, lms: Lms, loaded_course, make_user) -> dict:
    """The test LMS registered as an admin would, its deployment enrolling into an open cohort."""
    from course.cohorts.services import CohortSettings, create_cohort
    from course.content.models import Course
    from course.lti.platforms import PlatformSettings, save_platform

    app.config["LTI_KEY_DIR"] = str(lms.key_dir)
    lms.platform.lineitems.clear()
    lms.platform.scores.clear()
    lms.platform.members.clear()
    lms.platform.on_jwks = None
    lms.platform.members_next = None
    admin = make_user(email="root@example.com", role="admin")
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == loaded_course.key))
        today = date.today()
        cohort = create_cohort(
            course, CohortSettings("LMS cohort", today - timedelta(days=60), today + timedelta(days=60)), []
        )
        platform = save_platform(
            None,
            PlatformSettings(
                name="Test LMS",
                issuer=lms.url,
                client_id=CLIENT_ID,
                deployment_ids=(DEPLOYMENT_ID,),
                auth_login_url=f"{lms.url}/authorize",
                auth_token_url=f"{lms.url}/token",
                key_set_url=f"{lms.url}/jwks",
                cohort_id=cohort.id,
            ),
        )
        _db.session.commit()
        return {"platform_id": platform.id, "cohort_id": cohort.id, "course_id": course.id, "admin_id": admin.id}


def browser_session() -> requests.Session:
    """A browser that reads English (the tests match the pages' text)."""
    browser = requests.Session()
    browser.headers["Accept-Language"] = "en"
    return browser


def start(browser: requests.Session, lms: Lms, **hint) -> dict:
    """The LMS starts a launch; the browser follows it through the tool's login to the platform's answer."""
    hint.setdefault("roles", [LEARNER])
    response = browser.get(f"{lms.url}/start", params={"hint": json.dumps(hint)}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.history and response.history[0].headers["Location"].startswith(f"{lms.tool_url}/lti/login")
    return response.json()


def post_launch(browser: requests.Session, form: dict) -> requests.Response:
    return browser.post(
        form["launch_url"],
        data={"id_token": form["id_token"], "state": form["state"]},
        allow_redirects=False,
        timeout=10,
    )


def launch(browser: requests.Session, lms: Lms, **hint) -> requests.Response:
    return post_launch(browser, start(browser, lms, **hint))


def test_launch_creates_the_account_signs_in_and_opens_the_chapter(app, lms, registered):
    from course.accounts.models import Role, User
    from course.cohorts.models import Enrolment
    from course.lti.models import LtiAccount

    browser = browser_session()
    custom = {"course": "mini-course", "chapter": "training"}
    response = launch(
        browser, lms, user="s-100", name="Grace Hopper", email="grace@example.com", link="rl-1", custom=custom
    )
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/courses/mini-course/lessons/data")  # the chapter's first lesson
    page = browser.get(f"{lms.tool_url}/courses/mini-course/lessons/data", timeout=10)
    assert page.status_code == 200 and "Grace Hopper" in page.text

    again = launch(browser_session(), lms, user="s-100", link="rl-1", custom=custom)  # a second launch: same account
    assert again.status_code == 302
    with app.app_context():
        accounts = _db.session.scalars(select(LtiAccount)).all()
        assert [(a.sub, a.platform_id) for a in accounts] == [("s-100", registered["platform_id"])]
        user = _db.session.get(User, accounts[0].user_id)
        assert user.role == Role.LEARNER and user.name == "Grace Hopper"
        assert user.email.endswith("@lti.invalid")  # the platform's email is not taken as ours
        enrolment = _db.session.scalar(select(Enrolment).where(Enrolment.user_id == user.id))
        assert enrolment.cohort_id == registered["cohort_id"] and enrolment.source == "lti"


def test_the_target_link_may_name_the_chapter(lms, registered):
    target = f"{lms.tool_url}/lti/launch?course=mini-course&chapter=launch"
    response = launch(browser_session(), lms, user="s-110", link="rl-target", target=target)
    assert response.headers["Location"].endswith("/courses/mini-course/lessons/pricing")


def test_an_account_with_the_claimed_email_is_never_taken_over(app, lms, registered, make_user):
    from course.accounts.models import User
    from course.cohorts.models import Enrolment
    from course.lti.models import LtiAccount

    victim = make_user(email="victim@example.com", name="Victim")
    with app.app_context():
        before = _db.session.get(User, victim.id)
        kept = (before.email, before.name, before.password_hash, before.role)
    response = launch(browser_session(), lms, user="s-evil", email="victim@example.com", name="Evil", link="rl-1")
    assert response.status_code == 302
    with app.app_context():
        linked = _db.session.scalar(select(LtiAccount.user_id).where(LtiAccount.sub == "s-evil"))
        assert linked is not None and linked != victim.id  # a new account was linked, not the victim's
        after = _db.session.get(User, victim.id)
        assert (after.email, after.name, after.password_hash, after.role) == kept
        assert _db.session.scalar(select(Enrolment).where(Enrolment.user_id == victim.id)) is None


def test_an_instructor_claim_never_makes_staff_and_staff_never_sign_in_by_launch(app, lms, registered):
    from course.accounts.models import Role, User
    from course.lti.models import LtiAccount

    assert launch(browser_session(), lms, user="t-1", roles=[INSTRUCTOR], link="rl-1").status_code == 302
    with app.app_context():
        user_id = _db.session.scalar(select(LtiAccount.user_id).where(LtiAccount.sub == "t-1"))
        user = _db.session.get(User, user_id)
        assert user.role == Role.LEARNER
        user.role = Role.INSTRUCTOR  # an admin made the account staff here
        _db.session.commit()
    refused = launch(browser_session(), lms, user="t-1", roles=[INSTRUCTOR], link="rl-1")
    assert refused.status_code == 403


def test_a_tampered_id_token_is_refused_and_the_real_one_still_works(lms, registered):
    browser = browser_session()
    form = start(browser, lms, user="s-200", link="rl-1")
    header, body, signature = form["id_token"].split(".")
    claims = json.loads(_b64decode(body))
    claims["sub"] = "someone-else"
    forged = dict(form, id_token=".".join([header, _b64encode(json.dumps(claims)), signature]))
    refused = post_launch(browser, forged)
    assert refused.status_code in (400, 403) and "could not be verified" in refused.text
    flipped = dict(
        form, id_token=".".join([header, body, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    )
    assert post_launch(browser, flipped).status_code in (400, 403)
    assert post_launch(browser, form).status_code == 302  # the nonce was not used up by the refused ones


def test_a_replayed_launch_is_refused(lms, registered):
    browser = browser_session()
    form = start(browser, lms, user="s-300", link="rl-1")
    assert post_launch(browser, form).status_code == 302
    replay = post_launch(browser, form)
    assert replay.status_code == 403 and "already used" in replay.text
    assert post_launch(browser_session(), form).status_code in (400, 403)  # from another browser (no state cookie)


def test_the_launch_may_reach_another_instance_than_the_login(lms, registered, database_url):
    """The nonce and state live in the database: a launch posted to another process (gunicorn) is accepted, and
    the same launch replayed to the first instance is refused there."""
    from servers import CHEAP_HASHING, NO_LIMITS, Gunicorn

    overrides = {**NO_LIMITS, **CHEAP_HASHING, "RATELIMIT_LTI": "100000 per minute", "LTI_KEY_DIR": str(lms.key_dir)}
    browser = browser_session()
    form = start(browser, lms, user="s-950", link="rl-1")  # the login went to the first instance
    with Gunicorn(database_url, workers=1, overrides=overrides) as other:
        launched = post_launch(browser, dict(form, launch_url=f"{other.url}/lti/launch"))
        assert launched.status_code == 302, other.log()
    assert post_launch(browser, form).status_code == 403


def test_unknown_platforms_and_garbage_are_4xx_never_500(lms, registered):
    login = requests.get(
        f"{lms.tool_url}/lti/login", params={"iss": "https://unknown.example", "login_hint": "x"}, timeout=10
    )
    assert login.status_code == 400
    assert requests.post(f"{lms.tool_url}/lti/login", data={}, timeout=10).status_code == 400
    garbage = requests.post(f"{lms.tool_url}/lti/launch", data={"id_token": "a.b.c", "state": "s"}, timeout=10)
    assert garbage.status_code == 400
    assert requests.post(f"{lms.tool_url}/lti/launch", data={}, timeout=10).status_code == 400
    odd = ".".join(_b64encode(part) for part in ('{"alg": "RS256"}', "[1]", "x"))  # a body that is not an object
    browser = browser_session()
    form = start(browser, lms, user="s-900", link="rl-1")
    assert post_launch(browser, dict(form, id_token=odd)).status_code == 400


def test_a_passed_quiz_score_reaches_the_platforms_line_item(app, lms, registered):
    from pylti1p3.assignments_grades import AssignmentsGradesService
    from pylti1p3.contrib.flask import FlaskServiceConnector
    from pylti1p3.lineitem import LineItem

    from course.lti.grades import deliver_due
    from course.lti.models import LtiPlatform, LtiResourceLink, LtiScore
    from course.lti.tool import registration_for

    item = lms.platform.add_lineitem({"label": "Intro chapter", "scoreMaximum": 100, "resourceLinkId": "rl-intro"})
    item_id = item["id"].rsplit("/", 1)[1]
    browser = browser_session()
    custom = {"course": "mini-course", "chapter": "intro"}
    assert launch(browser, lms, user="s-400", link="rl-intro", custom=custom, lineitem=item_id).status_code == 302

    client = new_client(app)  # the same browser session (cookie), driven in-process to answer the quiz
    client.set_cookie("session", browser.cookies.get("session"), domain="localhost")
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302

    with app.app_context():
        waiting = _db.session.scalars(select(LtiScore)).all()
        assert [(s.status, s.score_given, s.activity_progress) for s in waiting] == [("pending", 100.0, "Completed")]
        result = deliver_due()  # the worker's job: outside the attempt's transaction
        assert (result.sent, result.failed) == (1, 0)
        assert _db.session.scalar(select(LtiScore.status)) == "sent"
        assert deliver_due().sent == 0  # nothing twice

        # Read back from the platform's side, over its results service.
        platform = _db.session.scalar(select(LtiPlatform))
        link = _db.session.scalar(select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "rl-intro"))
        service = AssignmentsGradesService(
            FlaskServiceConnector(registration_for(platform)),
            {"scope": link.ags_scopes, "lineitem": link.lineitem_url, "lineitems": link.lineitems_url},
        )
        grades = list(service.get_grades(LineItem().set_id(link.lineitem_url)))
    assert [(g["userId"], g["resultScore"], g["resultMaximum"]) for g in grades] == [("s-400", 100.0, 100.0)]
    assert lms.platform.scores[(item_id, "s-400")]["activityProgress"] == "Completed"


def test_a_course_link_is_completed_with_the_course(app, lms, registered):
    from course.lti.models import LtiScore

    browser = browser_session()
    assert (
        launch(browser, lms, user="s-450", link="rl-course", custom={"course": "mini-course"}, lineitem="9").status_code
        == 302
    )
    client = new_client(app)
    client.set_cookie("session", browser.cookies.get("session"), domain="localhost")
    complete_lessons(client, "welcome", "models", "data", "tuning")
    submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    with app.app_context():
        score = _db.session.scalar(select(LtiScore))
        assert (round(score.score_given, 2), score.activity_progress) == (33.33, "InProgress")  # 1 quiz of 3
    submit_quiz(client, "training-quiz", RIGHT_ANSWERS["training-quiz"])
    complete_lessons(client, "pricing", "growth")
    submit_quiz(client, "launch-quiz", RIGHT_ANSWERS["launch-quiz"])
    with app.app_context():
        score = _db.session.scalar(select(LtiScore))
        assert (score.score_given, score.activity_progress, score.status) == (100.0, "Completed", "pending")


def test_a_failed_delivery_is_retried_later(app, lms, registered):
    from course.lti.grades import deliver_due
    from course.lti.models import LtiResourceLink, LtiScore

    item_id = lms.platform.add_lineitem({"label": "Intro", "scoreMaximum": 100})["id"].rsplit("/", 1)[1]
    browser = browser_session()
    assert (
        launch(
            browser,
            lms,
            user="s-500",
            link="rl-x",
            custom={"course": "mini-course", "chapter": "intro"},
            lineitem=item_id,
        ).status_code
        == 302
    )
    client = new_client(app)
    client.set_cookie("session", browser.cookies.get("session"), domain="localhost")
    complete_lessons(client, "welcome", "models")
    submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"])
    with app.app_context():
        link = _db.session.scalar(select(LtiResourceLink))
        link.lineitem_url = f"{lms.url}/ags/lineitems/999"  # the platform answers 404
        _db.session.commit()
        result = deliver_due()
        assert (result.sent, result.retried) == (0, 1)
        score = _db.session.scalar(select(LtiScore))
        assert score.status == "pending" and score.tries == 1 and score.last_error


def test_the_scheduled_job_forgets_expired_launch_data(app, lms, registered):
    from course.db_types import utcnow
    from course.lti.models import LtiLaunchValue
    from course.worker.jobs import JOBS

    form = start(browser_session(), lms, user="s-990", link="rl-1")  # a login whose launch never came
    assert form["id_token"]
    with app.app_context():
        kept = _db.session.scalar(select(func.count()).select_from(LtiLaunchValue))
        assert kept >= 1
        _db.session.add(LtiLaunchValue(key="lti1p3-old", value=True, expires_at=utcnow() - timedelta(seconds=1)))
        _db.session.commit()
        prune = dict(JOBS)["LTI launch data"]
        assert prune() == 1
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(LtiLaunchValue)) == kept


def test_deep_linking_returns_a_signed_chapter_link_with_a_line_item(app, lms, registered):
    browser = browser_session()
    picker = launch(browser, lms, user="t-9", roles=[INSTRUCTOR], deep=True)
    assert picker.status_code == 200 and 'value="mini-course/training"' in picker.text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', picker.text).group(1)
    launch_id = re.search(r'name="launch_id"[^>]*value="([^"]+)"', picker.text).group(1)

    unsigned = browser.post(
        f"{lms.tool_url}/lti/deep-link", data={"launch_id": launch_id, "target": "mini-course"}, timeout=10
    )
    assert unsigned.status_code == 400  # CSRF is on for the picker's form
    back = browser.post(
        f"{lms.tool_url}/lti/deep-link",
        data={"csrf_token": token, "launch_id": launch_id, "target": "mini-course/training"},
        timeout=10,
    )
    assert back.status_code == 200 and lms.url in back.headers["Content-Security-Policy"]
    action = re.search(r'action="([^"]+)" id="lti-return"', back.text).group(1)
    jwt_value = re.search(r'name="JWT" value="([^"]+)"', back.text).group(1)
    items = requests.post(action, data={"JWT": jwt_value}, timeout=10).json()  # the platform checks our signature
    assert len(items) == 1
    assert items[0]["type"] == "ltiResourceLink" and items[0]["url"] == f"{lms.tool_url}/lti/launch"
    assert items[0]["custom"] == {"course": "mini-course", "chapter": "training"}
    assert items[0]["lineItem"]["scoreMaximum"] == 100

    # The LMS places the link; a learner's launch of it opens the chapter.
    opened = launch(browser_session(), lms, user="s-600", link="rl-dl", custom=items[0]["custom"])
    assert opened.headers["Location"].endswith("/courses/mini-course/lessons/data")


def test_a_learner_cannot_deep_link(lms, registered):
    assert launch(browser_session(), lms, user="s-700", deep=True).status_code == 403


def test_roster_sync_enrols_the_platforms_learners(app, lms, registered, make_user):
    from course.cohorts.models import Enrolment
    from course.lti.models import LtiAccount, LtiResourceLink

    assert launch(browser_session(), lms, user="s-800", link="rl-roster").status_code == 302
    lms.platform.members[:] = [
        {"user_id": "s-800", "roles": [LEARNER], "name": "Already here"},
        {"user_id": "s-801", "roles": [LEARNER], "name": "New One"},
        {"user_id": "s-802", "roles": [LEARNER], "name": "Gone", "status": "Inactive"},
        {"user_id": "t-803", "roles": [INSTRUCTOR], "name": "Teacher"},
    ]
    with app.app_context():
        link_id = _db.session.scalar(select(LtiResourceLink.id))
    outsider = make_user(email="other@example.com", role="instructor")
    client = new_client(app)
    do_login(client, outsider.email)
    assert client.post(f"/lti/links/{link_id}/roster").status_code == 403  # not this cohort's instructor

    teacher = make_user(email="teacher@example.com", role="instructor")
    with app.app_context():
        from course.cohorts.models import CohortInstructor

        _db.session.add(CohortInstructor(cohort_id=registered["cohort_id"], user_id=teacher.id))
        _db.session.commit()
    mine = new_client(app)
    do_login(mine, teacher.email)
    assert "rl-roster" in mine.get("/lti/links").get_data(as_text=True)  # the cohort's instructor sees the link
    assert mine.post(f"/lti/links/{link_id}/roster").status_code == 302
    page = mine.get("/lti/links").get_data(as_text=True)
    assert "1 enrolled, 1 already enrolled, 2 skipped" in page
    with app.app_context():
        subs = _db.session.scalars(
            select(LtiAccount.sub).join(Enrolment, Enrolment.user_id == LtiAccount.user_id).order_by(LtiAccount.sub)
        ).all()
        assert subs == ["s-800", "s-801"]
    admin = new_client(app)
    do_login(admin, "root@example.com")
    assert admin.post(f"/lti/links/{link_id}/roster").status_code == 302  # again, by an admin: nothing new
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Enrolment)) == 2


def test_admin_registers_edits_and_deletes_a_platform(app, client, make_user, lms):
    from course.audit.models import AuditEntry
    from course.lti.models import LtiDeployment, LtiPlatform

    app.config["LTI_KEY_DIR"] = str(lms.key_dir)
    learner = make_user(email="l@example.com")
    do_login(client, learner.email)
    assert client.get("/lti/platforms").status_code == 403
    client.post("/logout")
    admin = make_user(email="admin@example.com", role="admin")
    other = new_client(app)
    do_login(other, admin.email)
    page = other.get("/lti/platforms").get_data(as_text=True)
    assert "/lti/login" in page and "/lti/jwks" in page
    form = {
        "name": "Canvas",
        "issuer": "https://canvas.example",
        "client_id": "123",
        "deployment_ids": "d1\nd2\n",
        "auth_login_url": "https://canvas.example/auth",
        "auth_token_url": "https://canvas.example/token",
        "key_set_url": "https://canvas.example/jwks",
        "cohort_id": "",
    }
    assert other.post("/lti/platforms/new", data={**form, "key_set_url": "ftp://x"}).status_code == 400
    assert other.post("/lti/platforms/new", data=form).status_code == 302
    assert other.post("/lti/platforms/new", data=form).status_code == 400  # the same issuer and client id
    with app.app_context():
        platform_id = _db.session.scalar(select(LtiPlatform.id))
        assert sorted(_db.session.scalars(select(LtiDeployment.deployment_id))) == ["d1", "d2"]
    assert other.get(f"/lti/platforms/{platform_id}/edit").status_code == 200
    assert other.post(f"/lti/platforms/{platform_id}/edit", data={**form, "deployment_ids": "d2"}).status_code == 302
    with app.app_context():
        assert list(_db.session.scalars(select(LtiDeployment.deployment_id))) == ["d2"]
    assert other.post(f"/lti/platforms/{platform_id}/delete").status_code == 302
    assert other.get(f"/lti/platforms/{platform_id}/edit").status_code == 404
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(LtiPlatform)) == 0
        actions = _db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("lti%"))).all()
        assert sorted(actions) == ["lti platform deleted", "lti platform saved", "lti platform saved"]


def test_keygen_writes_a_private_key_outside_the_database_and_jwks_publishes_it(app, tmp_path):
    key_dir = tmp_path / "keys"
    app.config["LTI_KEY_DIR"] = str(key_dir)
    runner = app.test_cli_runner()
    assert new_client(app).get("/lti/jwks").get_json() == {"keys": []}
    result = runner.invoke(args=["lti", "keygen"])
    assert result.exit_code == 0, result.output
    private = key_dir / "tool-private.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert runner.invoke(args=["lti", "keygen"]).exit_code != 0  # never overwritten by accident
    keys = new_client(app).get("/lti/jwks").get_json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"] and "d" not in keys[0]


def _b64decode(part: str) -> str:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode()


def _b64encode(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# -- the reviewer's findings --------------------------------------------------------------------------------------
ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
REMOVE = object()


def resigned(lms: Lms, form: dict, changes: dict) -> dict:
    """The launch form with its id_token's claims changed (REMOVE drops one), signed again with the platform's key:
    a token the platform really signed, with claims of our choosing."""
    import jwt

    header = jwt.get_unverified_header(form["id_token"])
    claims = jwt.decode(form["id_token"], options={"verify_signature": False})
    for name, value in changes.items():
        if value is REMOVE:
            claims.pop(name, None)
        else:
            claims[name] = value
    token = jwt.encode(claims, lms.platform.private_pem, algorithm="RS256", headers={"kid": header["kid"]})
    return dict(form, id_token=token)


@contextlib.contextmanager
def recording_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server that records every request it gets (a host the tool must never call)."""
    hits: list[str] = []
    server = Flask("elsewhere")

    @server.route("/<path:path>", methods=["GET", "POST"])
    def anything(path: str):
        hits.append(path)
        return {"access_token": "stolen", "expires_in": 3600}

    with serve(server) as url:
        yield url, hits


def test_access_tokens_are_cached_per_registration_not_per_issuer(app):
    """Canvas cloud: every school has the issuer https://canvas.instructure.com; school B never gets A's token."""
    import jwt
    from flask import request as server_request
    from lti_platform import new_key_pem
    from pylti1p3.registration import Registration

    from course.lti.http import ToolServiceConnector

    asked: list[str] = []
    server = Flask("token-server")

    @server.post("/token/<school>")
    def token(school: str):
        client = jwt.decode(server_request.form["client_assertion"], options={"verify_signature": False})["iss"]
        asked.append(client)
        return {"access_token": f"token-of-{client}", "expires_in": 3600}

    private, _public = new_key_pem()
    run = uuid.uuid4().hex[:8]  # the cache outlives a test: names of this run only
    with serve(server) as url, app.app_context():

        def connector(client_id: str) -> ToolServiceConnector:
            registration = (
                Registration()
                .set_issuer("https://canvas.instructure.com")
                .set_client_id(client_id)
                .set_auth_token_url(f"{url}/token/{client_id}")
                .set_key_set_url(f"{url}/jwks")
                .set_tool_private_key(private)
            )
            return ToolServiceConnector(registration)

        first = connector(f"a-{run}").get_access_token([SCORE_SCOPE])
        second = connector(f"b-{run}").get_access_token([SCORE_SCOPE])
        again = connector(f"a-{run}").get_access_token([SCORE_SCOPE])
    assert (first, second, again) == (f"token-of-a-{run}", f"token-of-b-{run}", f"token-of-a-{run}")
    assert asked == [f"a-{run}", f"b-{run}"]  # each school asked once; A's second call from the cache


def test_a_slow_platform_times_out_and_no_write_lock_is_held_meanwhile(lms, registered, database_url):
    """The platform's keys are fetched with a timeout, and with no transaction open: another writer goes on."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    outcomes: list[str] = []

    def write_meanwhile() -> None:  # a raw connection: no listener begins it with SQLite's long busy wait
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            if engine.dialect.name == "sqlite":
                cursor.execute("PRAGMA busy_timeout=300")
                cursor.execute("BEGIN IMMEDIATE")
            else:
                cursor.execute("SET lock_timeout = '300ms'")
            cursor.execute("UPDATE lti_launch_value SET expires_at = expires_at WHERE key LIKE 'lti1p3-nonce-%'")
            connection.commit()
            outcomes.append("written")
        except Exception as error:
            connection.rollback()
            outcomes.append(repr(error))
        finally:
            connection.close()

    lms.platform.on_jwks = write_meanwhile
    assert launch(browser_session(), lms, user="s-1000", link="rl-1").status_code == 302
    assert outcomes == ["written"]

    lms.platform.on_jwks = lambda: time.sleep(3)
    lms.app.config["LTI_HTTP_TIMEOUT"] = 0.5
    try:
        began = time.monotonic()
        slow = launch(browser_session(), lms, user="s-1001", link="rl-1")
        assert slow.status_code == 400 and time.monotonic() - began < 2.5
    finally:
        lms.app.config["LTI_HTTP_TIMEOUT"] = 10
        lms.platform.on_jwks = None
    engine.dispose()


def test_a_refused_launch_still_uses_up_its_nonce(lms, registered):
    browser = browser_session()
    form = start(browser, lms, user="s-1010", link="rl-1", custom={"course": "no-such-course"})
    assert post_launch(browser, form).status_code == 404
    replay = post_launch(browser, form)
    assert replay.status_code == 403 and "already used" in replay.text


def test_the_same_launch_posted_twice_at_once_is_accepted_once(lms, registered):
    from concurrent.futures import ThreadPoolExecutor

    browser = browser_session()
    form = start(browser, lms, user="s-1020", link="rl-1")
    cookies = browser.cookies.get_dict()

    def post(_n: int) -> int:
        other = browser_session()
        other.cookies.update(cookies)
        return post_launch(other, form).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(post, range(4)))
    assert codes == [302, 403, 403, 403]


@pytest.mark.parametrize(
    "changes",
    [
        {ROLES_CLAIM: [1]},
        {AGS: ["not", "an", "object"]},
        {"https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "rl-1", "title": 7}},
        {"https://purl.imsglobal.org/spec/lti/claim/context": "course-101"},
        {"sub": "s" * 300},
        {"https://purl.imsglobal.org/spec/lti/claim/context": {"id": "c" * 300}},
        {AGS: {"scope": [SCORE_SCOPE], "lineitems": "https://lms.example/" + "x" * 600}},
        {"https://purl.imsglobal.org/spec/lti/claim/custom": "course"},
    ],
    ids=["roles", "ags", "title", "context", "long-sub", "long-context", "long-url", "custom"],
)
def test_signed_but_malformed_claims_are_a_400(lms, registered, changes):
    browser = browser_session()
    form = start(browser, lms, user="s-1030", link="rl-1")
    refused = post_launch(browser, resigned(lms, form, changes))
    assert refused.status_code == 400, refused.text
    assert post_launch(browser, form).status_code == 302  # the platform's own token is still good


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": int(time.time()) - 60},
        {"exp": REMOVE},
        {"iat": REMOVE},
        {"https://purl.imsglobal.org/spec/lti/claim/deployment_id": "another-deployment"},
        {"aud": [CLIENT_ID, "someone-else"], "azp": REMOVE},
        {"aud": [CLIENT_ID, "someone-else"], "azp": "someone-else"},
        {"aud": "someone-else"},
    ],
    ids=["expired", "no-exp", "no-iat", "wrong-deployment", "aud-list-no-azp", "azp-not-ours", "aud-not-ours"],
)
def test_token_checks(lms, registered, changes):
    browser = browser_session()
    form = start(browser, lms, user="s-1040", link="rl-1")
    assert post_launch(browser, resigned(lms, form, changes)).status_code == 400


def test_several_audiences_with_our_azp_are_accepted(lms, registered):
    browser = browser_session()
    form = start(browser, lms, user="s-1050", link="rl-1")
    changes = {"aud": ["someone-else", CLIENT_ID], "azp": CLIENT_ID}
    assert post_launch(browser, resigned(lms, form, changes)).status_code == 302


def test_platform_urls_must_be_https(app, client, make_user):
    admin = make_user(email="admin@example.com", role="admin")
    do_login(client, admin.email)
    form = {
        "name": "Canvas",
        "issuer": "https://canvas.example",
        "client_id": "123",
        "deployment_ids": "d1",
        "auth_login_url": "https://canvas.example/auth",
        "auth_token_url": "https://canvas.example/token",
        "key_set_url": "https://canvas.example/jwks",
        "cohort_id": "",
    }
    for field in ("auth_login_url", "auth_token_url", "key_set_url"):
        for bad in ("http://canvas.example/x", "http://169.254.169.254/latest", "https://", "file:///etc/passwd"):
            assert client.post("/lti/platforms/new", data={**form, field: bad}).status_code == 400, (field, bad)
    assert client.post("/lti/platforms/new", data={**form, "key_set_url": "http://127.0.0.1:9/jwks"}).status_code == 302
    app.testing = False  # outside the tests and development, not even loopback
    try:
        form2 = {**form, "client_id": "456", "key_set_url": "http://127.0.0.1:9/jwks"}
        assert client.post("/lti/platforms/new", data=form2).status_code == 400
    finally:
        app.testing = True


def _scored_link(app, lms, user: str) -> None:
    """A learner launched a chapter link with a line item and passed its quiz: one score waits."""
    item_id = lms.platform.add_lineitem({"label": "Intro", "scoreMaximum": 100})["id"].rsplit("/", 1)[1]
    browser = browser_session()
    custom = {"course": "mini-course", "chapter": "intro"}
    assert launch(browser, lms, user=user, link=f"rl-{user}", custom=custom, lineitem=item_id).status_code == 302
    client = new_client(app)
    client.set_cookie("session", browser.cookies.get("session"), domain="localhost")
    complete_lessons(client, "welcome", "models")
    assert submit_quiz(client, "intro-quiz", RIGHT_ANSWERS["intro-quiz"]).status_code == 302


def test_scores_go_only_to_the_platforms_host(app, lms, registered):
    from course.lti.grades import deliver_due
    from course.lti.models import LtiResourceLink, LtiScore

    _scored_link(app, lms, "s-1100")
    with recording_server() as (elsewhere, hits), app.app_context():
        link = _db.session.scalar(select(LtiResourceLink))
        link.lineitem_url = elsewhere.replace("127.0.0.1", "localhost") + "/ags/lineitems/1"  # another host
        _db.session.commit()
        assert deliver_due().retried == 1
        assert "platform's hosts" in _db.session.scalar(select(LtiScore.last_error))
    assert hits == []


def test_the_roster_follows_no_next_page_to_another_host(app, lms, registered):
    from course.cohorts.models import Enrolment
    from course.lti.models import LtiResourceLink

    assert launch(browser_session(), lms, user="s-1200", link="rl-roster").status_code == 302
    lms.platform.members[:] = [{"user_id": "s-1201", "roles": [LEARNER], "name": "New"}]
    admin = new_client(app)
    do_login(admin, "root@example.com")
    with app.app_context():
        link_id = _db.session.scalar(select(LtiResourceLink.id))
    with recording_server() as (elsewhere, hits):
        lms.platform.members_next = elsewhere.replace("127.0.0.1", "localhost") + "/nrps/members?page=2"
        refused = admin.post(f"/lti/links/{link_id}/roster", headers={"Accept-Language": "en"})
        assert refused.status_code == 400 and "did not send its roster" in refused.get_data(as_text=True)
    assert hits == []
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Enrolment)) == 1  # the launched learner only


@pytest.mark.parametrize(
    "return_url",
    ["https://lms.example; script-src *", "https://lms.example'/x", "javascript://lms.example/%0aalert(1)"],
    ids=["semicolon", "quote", "scheme"],
)
def test_a_deep_link_return_url_cannot_inject_into_the_csp(lms, registered, return_url):
    browser = browser_session()
    picker = launch(browser, lms, user="t-20", roles=[INSTRUCTOR], deep=True, deep_return=return_url)
    assert picker.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', picker.text).group(1)
    launch_id = re.search(r'name="launch_id"[^>]*value="([^"]+)"', picker.text).group(1)
    back = browser.post(
        f"{lms.tool_url}/lti/deep-link",
        data={"csrf_token": token, "launch_id": launch_id, "target": "mini-course"},
        timeout=10,
    )
    assert back.status_code == 400 and "script-src *" not in back.headers.get("Content-Security-Policy", "")


def test_a_score_row_is_claimed_once_and_a_rewrite_meanwhile_is_not_lost(app, lms, registered, monkeypatch):
    from course.lti import grades
    from course.lti.models import LtiScore

    _scored_link(app, lms, "s-1300")
    with app.app_context():
        score = _db.session.scalar(select(LtiScore))
        claimed = grades._claim(score.id)  # another worker holds it
        assert claimed is not None and grades._claim(score.id) is None
        assert grades.deliver_due().sent == 0  # not due while leased
        _db.session.execute(update(LtiScore).values(due_at=utcnow()))  # the lease ran out
        _db.session.commit()

        def rewritten_then_refused(claimed_row) -> None:  # an attempt rewrites the row during the post
            _db.session.execute(update(LtiScore).values(updated_at=utcnow(), due_at=utcnow(), score_given=50.0))
            _db.session.commit()
            raise LtiException("the platform said no")

        monkeypatch.setattr(grades, "_post", rewritten_then_refused)
        assert grades.deliver_due().retried == 0
        row = _db.session.scalar(select(LtiScore))
        _db.session.refresh(row)
        assert (row.tries, row.last_error, row.status) == (0, None, "pending")  # the new score goes, not lost
        monkeypatch.undo()
        assert grades.deliver_due().sent == 1
        stamp = _db.session.scalar(select(LtiScore.updated_at))
    sent = next(s for (_item, user), s in lms.platform.scores.items() if user == "s-1300")
    assert sent["scoreGiven"] == 50.0 and sent["timestamp"] == stamp.isoformat()  # the score's own time


def test_queueing_a_score_twice_keeps_one_row(app, lms, registered):
    from course.content.models import Course
    from course.lti.grades import queue_scores
    from course.lti.models import LtiAccount, LtiScore

    _scored_link(app, lms, "s-1350")
    with app.app_context():
        user_id = _db.session.scalar(select(LtiAccount.user_id).where(LtiAccount.sub == "s-1350"))
        course_id = _db.session.scalar(select(Course.id))
        assert queue_scores(user_id, course_id) == 1 and queue_scores(user_id, course_id) == 1
        _db.session.commit()
        assert _db.session.scalar(select(func.count()).select_from(LtiScore)) == 1


def test_the_roster_skips_a_member_without_id_and_makes_no_account_a_full_cohort_refuses(app, lms, registered):
    from course.cohorts.models import Cohort, Enrolment
    from course.lti.models import LtiAccount, LtiResourceLink

    assert launch(browser_session(), lms, user="s-1400", link="rl-roster").status_code == 302
    lms.platform.members[:] = [
        {"user_id": "", "roles": [LEARNER], "name": "No id"},
        {"user_id": "s-1401", "roles": [LEARNER], "name": "Fits"},
        {"user_id": "s-1402", "roles": [LEARNER], "name": "No seat"},
    ]
    with app.app_context():
        link_id = _db.session.scalar(select(LtiResourceLink.id))
        _db.session.get(Cohort, registered["cohort_id"]).capacity = 2  # the launched learner and one more
        _db.session.commit()
    admin = new_client(app)
    do_login(admin, "root@example.com")
    admin.post(f"/lti/links/{link_id}/roster")
    assert "1 enrolled, 0 already enrolled, 2 skipped" in admin.get("/lti/links").get_data(as_text=True)
    with app.app_context():
        assert sorted(_db.session.scalars(select(LtiAccount.sub))) == ["s-1400", "s-1401"]  # none for s-1402
        assert _db.session.scalar(select(func.count()).select_from(Enrolment)) == 2


def test_keygen_force_makes_the_replaced_key_private_again(app, tmp_path):
    app.config["LTI_KEY_DIR"] = str(tmp_path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["lti", "keygen"]).exit_code == 0
    private = tmp_path / "tool-private.pem"
    private.chmod(0o644)
    assert runner.invoke(args=["lti", "keygen", "--force"]).exit_code == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_service_urls_only_on_the_platforms_hosts_or_those_listed_for_its_issuer(app):
    from pylti1p3.registration import Registration

    from course.lti.http import UrlRefused, check_service_url, hosts_of

    def hosts(issuer: str) -> frozenset[str]:
        registration = (
            Registration()
            .set_issuer(issuer)
            .set_auth_token_url("https://sso.canvaslms.com/login/oauth2/token")
            .set_key_set_url("https://sso.canvaslms.com/api/lti/security/jwks")
        )
        return hosts_of(registration)

    with app.app_context():
        canvas, other = hosts("https://canvas.instructure.com"), hosts("https://moodle.example")
        assert check_service_url("https://school.instructure.com/api/lti/courses/1/line_items", canvas)
        assert check_service_url("https://sso.canvaslms.com/api/x", other)
        for url, allowed in [
            ("https://school.instructure.com/api/lti/courses/1/line_items", other),  # not listed for this issuer
            ("https://instructure.com.evil.example/x", canvas),
            ("http://school.instructure.com/x", canvas),  # not https
            ("http://169.254.169.254/latest/meta-data", canvas),
        ]:
            with pytest.raises(UrlRefused):
                check_service_url(url, allowed)
