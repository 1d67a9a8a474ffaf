"""Changing how an account signs in ends its other sessions (ASVS 7.4.3): a session opened with the password alone
— by the owner on another device, or by someone who had the password — must sign in the new way."""

from __future__ import annotations

import re

import pyotp
from conftest import do_login, new_client

SECRET_SHOWN = re.compile(r'<code class="secret-key" id="secret-key">([A-Z2-7 ]+)</code>')


def turn_on(client) -> str:
    page = client.get("/account/mfa/setup").get_data(as_text=True)
    secret = SECRET_SHOWN.search(page).group(1).replace(" ", "")
    assert client.post("/account/mfa/setup", data={"code": pyotp.TOTP(secret).now()}).status_code == 200
    return secret


def test_turning_two_step_login_on_ends_the_staff_accounts_other_sessions(app, loaded_course, make_user):
    instructor = make_user(email="new-teacher@example.com", role="instructor", mfa=False)
    someone_else, owner = new_client(app), new_client(app)
    assert do_login(someone_else, instructor.email).status_code == 302  # the password alone: set-up only
    assert do_login(owner, instructor.email).status_code == 302
    turn_on(owner)
    assert owner.get("/cohorts").status_code == 200  # the owner's session, which gave the code, goes on
    response = someone_else.get("/cohorts")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_turning_it_on_ends_a_learners_other_sessions(app, loaded_course, make_user):
    learner = make_user(email="careful@example.com")
    other_device, here = new_client(app), new_client(app)
    for client in (other_device, here):
        assert do_login(client, learner.email).status_code == 302
    turn_on(here)
    assert here.get("/account").status_code == 200
    assert other_device.get("/account").status_code == 302
