"""Two-step login (TOTP and recovery codes): required for staff, optional for learners; the code page after the
password; codes that work once; the limit on wrong codes; the CLI and admin resets; nothing secret stored in
plain text."""

from __future__ import annotations

import math
import re

import pyotp
from conftest import DEFAULT_PASSWORD, TOTP_SECRET, build_app, do_login, fresh_code, new_client
from sqlalchemy import select

from course.accounts import mfa
from course.accounts.models import RecoveryCode, TotpFactor, User
from course.accounts.tokens import RESET_PASSWORD, make_set_password_token, make_token
from course.audit.models import AuditEntry
from course.extensions import db as _db

SECRET_KEY_SHOWN = re.compile(r'<code class="secret-key" id="secret-key">([A-Z2-7 ]+)</code>')
CODES_SHOWN = re.compile(r"<li><code>([a-z2-7]{4}(?:-[a-z2-7]{4})+)</code></li>")


def password_step(client, email: str, next: str | None = None):
    return client.post(
        "/login", query_string={"next": next} if next else None, data={"email": email, "password": DEFAULT_PASSWORD}
    )


def code_at(step: int, secret: str = TOTP_SECRET) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def actions(app, user_id: int) -> list[str]:
    """The two-step login entries of the audit log about the user, oldest first."""
    with app.app_context():
        query = select(AuditEntry.action).where(AuditEntry.target_user_id == user_id).order_by(AuditEntry.id)
        return [a for a in _db.session.scalars(query) if a.startswith(("mfa", "recovery code"))]


def factor(app, user_id: int) -> TotpFactor | None:
    with app.app_context():
        return _db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))


def set_up(client) -> list[str]:
    """Set up the app from the set-up page as a person does (reading the key shown as text); returns the recovery
    codes shown."""
    page = client.get("/account/mfa/setup").get_data(as_text=True)
    secret = SECRET_KEY_SHOWN.search(page).group(1).replace(" ", "")
    response = client.post("/account/mfa/setup", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = CODES_SHOWN.findall(response.get_data(as_text=True))
    assert len(codes) == mfa.RECOVERY_CODES
    return codes


# -- staff must set it up ---------------------------------------------------------------------------------------
def test_staff_without_mfa_are_sent_to_set_it_up_and_can_do_nothing_else(app, make_user, loaded_course):
    instructor = make_user(email="ian@example.com", role="instructor", name="Ian", mfa=False)
    client = new_client(app)
    response = password_step(client, instructor.email, next="/cohorts")
    assert response.status_code == 302
    assert response.location == "/account/mfa/setup?next=/cohorts"

    for url in ("/courses", "/cohorts", "/account", "/account/mfa", "/login/code", "/no/such/page", "/cohorts/new"):
        response = client.get(url)
        assert response.status_code == 302 and response.location.startswith("/account/mfa/setup"), url
    for url, data in [
        ("/account/name", {"profile-name": "Someone Else"}),
        ("/account/preferences", {"prefs-language": "en", "prefs-time_zone": ""}),
        ("/cohorts/new", {"name": "Sneaky"}),
        ("/logout/everywhere", {}),
        ("/account/mfa/recovery-codes", {"codes-proof": DEFAULT_PASSWORD}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 303 and response.location == "/account/mfa/setup", url
    with app.app_context():
        assert _db.session.get(User, instructor.id).name == "Ian"  # nothing was done
    # Still open: the set-up page, static files, the language switch; and logging out.
    page = client.get("/account/mfa/setup?next=/cohorts")
    assert page.status_code == 200 and "Your role requires two-step login" in page.get_data(as_text=True)
    with client.get("/static/css/app.css") as response:  # closed: a file response holds its file open
        assert response.status_code == 200
    assert client.post("/language", data={"lang": "en", "next": "/courses"}).status_code == 302

    setup = client.get("/account/mfa/setup?next=/cohorts").get_data(as_text=True)
    secret = SECRET_KEY_SHOWN.search(setup).group(1).replace(" ", "")
    response = client.post("/account/mfa/setup?next=/cohorts", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert 'href="/cohorts"' in response.get_data(as_text=True)  # "continue" keeps where they were going
    assert client.get("/cohorts").status_code == 200
    assert actions(app, instructor.id) == ["mfa enabled", "recovery codes made"]
    assert client.post("/logout").status_code == 302


def test_the_set_up_page_shows_a_qr_code_without_inline_styles_and_the_key_as_text(app, make_user):
    admin = make_user(email="ada@example.com", role="admin", mfa=False)
    client = new_client(app)
    password_step(client, admin.email)
    page = client.get("/account/mfa/setup").get_data(as_text=True)
    qr = re.search(r'<img class="qr-code" src="([^"]+)"', page).group(1)
    assert qr.startswith("data:image/svg+xml")  # the CSP allows data: images (img-src 'self' data:)
    assert "style" not in qr.lower() and "script" not in qr.lower()
    assert " style=" not in page
    key = SECRET_KEY_SHOWN.search(page).group(1).replace(" ", "")
    assert len(key) == 32
    # The same key until it is set up: reloading the page does not invalidate what the phone scanned.
    assert (
        SECRET_KEY_SHOWN.search(client.get("/account/mfa/setup").get_data(as_text=True)).group(1).replace(" ", "")
        == key
    )


def test_a_wrong_code_does_not_turn_it_on(app, make_user):
    admin = make_user(email="ada@example.com", role="admin", mfa=False)
    client = new_client(app)
    password_step(client, admin.email)
    client.get("/account/mfa/setup")
    response = client.post("/account/mfa/setup", data={"code": "12345x"})
    assert response.status_code == 400 and "not the code the app shows" in response.get_data(as_text=True)
    assert factor(app, admin.id) is None
    assert client.get("/courses").status_code == 302


# -- the login's second step --------------------------------------------------------------------------------------
def test_the_login_asks_for_a_code_and_keeps_next(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    client = new_client(app)
    response = password_step(client, instructor.email, next="/cohorts")
    assert response.status_code == 302 and response.location == "/login/code"
    assert client.get("/account").status_code == 302  # no login session yet
    page = client.get("/login/code")
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.get_data(as_text=True)
    response = client.post("/login/code", data={"code": fresh_code(app, instructor.email)})
    assert response.status_code == 302 and response.location == "/cohorts"
    assert client.get("/cohorts").status_code == 200


def test_a_code_works_once(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    code = fresh_code(app, instructor.email)
    client = new_client(app)
    password_step(client, instructor.email)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    client.post("/logout")
    password_step(client, instructor.email)
    response = client.post("/login/code", data={"code": code})
    assert response.status_code == 400 and "already used" in response.get_data(as_text=True)
    assert client.get("/cohorts").status_code == 302
    assert actions(app, instructor.id)[-1] == "mfa failed"


def test_codes_are_checked_one_step_either_side_of_the_clock(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    fresh_code(app, instructor.email)  # no step used yet
    now = mfa.current_step()
    client = new_client(app)
    password_step(client, instructor.email)
    assert client.post("/login/code", data={"code": code_at(now - 2)}).status_code == 400  # two steps ago
    assert client.post("/login/code", data={"code": code_at(now + 3)}).status_code == 400
    assert client.post("/login/code", data={"code": code_at(now - 1)}).status_code == 302  # a step ago: accepted


def test_the_step_rules_without_a_request():
    at = 1_800_000_000.0
    step = int(at) // 30
    for offset, accepted in [(-2, False), (-1, True), (0, True), (1, True), (2, False)]:
        found = mfa.matching_step(TOTP_SECRET, code_at(step + offset), at=at)
        assert (found == step + offset) is accepted, offset
    assert mfa.matching_step(TOTP_SECRET, code_at(step), after=step, at=at) is None  # not later than the last
    assert mfa.matching_step(TOTP_SECRET, code_at(step + 1), after=step, at=at) == step + 1
    assert mfa.matching_step(TOTP_SECRET, "12 34 56", at=at) is None


def test_the_same_code_sent_twice_at_once_is_accepted_once(app, db, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    user = db.session.get(User, instructor.id)
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert mfa.check_totp(user, code)
    db.session.expire_all()  # as a second request would see it
    assert not mfa.check_totp(user, code)


def test_the_code_page_expires(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    client = new_client(app)
    password_step(client, instructor.email)
    app.config["MFA_PENDING_SECONDS"] = -1
    response = client.post("/login/code", data={"code": fresh_code(app, instructor.email)})
    assert response.status_code == 302 and response.location == "/login"
    assert "Your login has expired" in client.get("/login").get_data(as_text=True)
    assert client.get("/cohorts").status_code == 302


def test_ending_every_session_ends_a_login_waiting_for_its_code(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    client = new_client(app)
    password_step(client, instructor.email)
    other = new_client(app)
    do_login(other, instructor.email)
    other.post("/logout/everywhere")
    assert client.post("/login/code", data={"code": fresh_code(app, instructor.email)}).location == "/login"


def test_a_password_link_does_not_skip_the_second_step(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    with app.app_context():
        token = make_token(_db.session.get(User, instructor.id), RESET_PASSWORD)
    client = new_client(app)
    new = "a brand new passphrase"
    response = client.post(f"/password/reset/{token}", data={"password": new, "confirm": new})
    assert response.status_code == 302 and response.location == "/login/code"
    assert client.get("/cohorts").status_code == 302
    assert client.post("/login/code", data={"code": fresh_code(app, instructor.email)}).status_code == 302
    assert client.get("/cohorts").status_code == 200


def test_wrong_codes_are_limited_per_account(app, make_user):
    app.config["RATELIMIT_MFA"] = "3 per 15 minutes"
    instructor = make_user(email="ian@example.com", role="instructor")
    client = new_client(app)
    password_step(client, instructor.email)
    right = fresh_code(app, instructor.email)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert client.post("/login/code", data={"code": wrong}).status_code == 400
    assert client.post("/login/code", data={"code": right}).status_code == 302  # a right code gives its place back
    client.post("/logout")
    for _ in range(2):  # three wrong codes in all
        password_step(client, instructor.email)
        assert client.post("/login/code", data={"code": wrong}).status_code == 400
    elsewhere = new_client(app)  # another browser of the same account: the same counter
    password_step(elsewhere, instructor.email)
    response = elsewhere.post("/login/code", data={"code": fresh_code(app, instructor.email)})
    assert response.status_code == 429 and "Too many wrong codes" in response.get_data(as_text=True)
    assert elsewhere.get("/cohorts").status_code == 302
    with app.app_context():  # each refusal is in the audit log, the one refused unchecked as throttled
        query = select(AuditEntry.details).where(AuditEntry.action == "mfa failed").order_by(AuditEntry.id)
        reasons = [details["reason"] for details in _db.session.scalars(query)]
    assert reasons == ["wrong code"] * 3 + ["throttled"]


def test_the_two_steps_work_with_csrf_on(database_url, make_user, extra_apps):
    instructor = make_user(email="ian@example.com", role="instructor")
    strict = build_app(database_url, WTF_CSRF_ENABLED=True)
    extra_apps.append(strict)
    client = new_client(strict)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert do_login(client, instructor.email, csrf_token=token).status_code == 302
    assert client.get("/cohorts").status_code == 200


# -- recovery codes -----------------------------------------------------------------------------------------------
def test_recovery_codes_work_once(app, make_user):
    learner = make_user(email="lee@example.com")
    client = new_client(app)
    do_login(client, learner.email)
    codes = set_up(client)
    client.post("/logout")

    password_step(client, learner.email)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 302
    assert "You used a recovery code: 9 left" in client.get("/courses").get_data(as_text=True)
    client.post("/logout")
    password_step(client, learner.email)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 400  # used
    assert client.post("/login/code", data={"code": codes[1].upper().replace("-", " ")}).status_code == 302
    assert actions(app, learner.id).count("recovery code used") == 2


def test_recovery_codes_carry_at_least_112_bits(app, db, make_user):
    """ASVS 5.0 6.5.2: a value kept under a fast hash (SHA-256) carries at least 112 bits: characters drawn at
    random from an alphabet of 32 carry 5 bits each."""
    learner = make_user(email="lee@example.com")
    codes = mfa.make_recovery_codes(db.session.get(User, learner.id))
    alphabet = mfa.RECOVERY_ALPHABET
    assert len(set(alphabet)) == len(alphabet) == 32
    for code in codes:
        assert re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4})+", code), code  # shown in blocks of four
        characters = mfa.normalise_recovery_code(code)
        assert set(characters) <= set(alphabet)
        assert len(characters) * math.log2(len(alphabet)) >= 112, code
    assert len(set(codes)) == len(codes) == mfa.RECOVERY_CODES


def test_recovery_codes_are_accepted_with_or_without_dashes_in_any_case(app, db, make_user):
    learner = make_user(email="lee@example.com")
    user = db.session.get(User, learner.id)
    codes = mfa.make_recovery_codes(user)
    typed = [
        codes[0].replace("-", ""),
        codes[1].upper(),
        codes[2].replace("-", " ").upper(),
        f"  {codes[3].replace('-', '')[:10]} {codes[3].replace('-', '')[10:].upper()}\t",
    ]
    for code in typed:
        assert mfa.use_recovery_code(user, code), code
    assert not mfa.use_recovery_code(user, codes[0])  # used
    start = codes[4].replace("-", "")
    assert not mfa.use_recovery_code(user, start[:16]) and not mfa.use_recovery_code(user, f"{start}a")
    assert mfa.recovery_codes_left(user.id) == mfa.RECOVERY_CODES - len(typed)


def test_a_new_set_of_recovery_codes_replaces_the_old(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    with app.app_context():
        old = mfa.make_recovery_codes(_db.session.get(User, instructor.id))
        _db.session.commit()
    client = new_client(app)
    do_login(client, instructor.email)
    refused = client.post("/account/mfa/recovery-codes", data={"codes-proof": "not my password"})
    assert refused.status_code == 400
    response = client.post("/account/mfa/recovery-codes", data={"codes-proof": DEFAULT_PASSWORD})
    assert response.status_code == 200
    new = CODES_SHOWN.findall(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    password_step(client, instructor.email)
    assert client.post("/login/code", data={"code": old[0]}).status_code == 400
    assert client.post("/login/code", data={"code": new[0]}).status_code == 302


def test_secrets_and_recovery_codes_are_not_stored_in_plain_text(app, make_user):
    learner = make_user(email="lee@example.com")
    client = new_client(app)
    do_login(client, learner.email)
    page = client.get("/account/mfa/setup").get_data(as_text=True)
    secret = SECRET_KEY_SHOWN.search(page).group(1).replace(" ", "")
    cookie = client.get_cookie("session").value
    assert secret not in repr(app.session_interface.get_signing_serializer(app).loads(cookie))  # encrypted there too
    codes = set_up(client)
    with app.app_context():
        rows = [tuple(row) for row in _db.session.execute(select(TotpFactor.__table__))]
        rows += [tuple(row) for row in _db.session.execute(select(RecoveryCode.__table__))]
        stored = repr(rows).lower()
        (encrypted,) = _db.session.scalars(select(TotpFactor.secret_encrypted))
        assert mfa.decrypt_secret(encrypted) == secret
    assert secret.lower() not in stored
    for code in codes:
        assert code not in stored and code.replace("-", "") not in stored
    # Under another SECRET_KEY the stored secret cannot be read.
    app.config["SECRET_KEY"] = "another-secret-key"
    with app.app_context():
        assert mfa.decrypt_secret(encrypted) is None


# -- turning it on and off ------------------------------------------------------------------------------------------
def test_a_learner_turns_it_on_and_off(app, make_user):
    learner = make_user(email="lee@example.com")
    client = new_client(app)
    do_login(client, learner.email)
    assert 'href="/account/mfa"' in client.get("/account").get_data(as_text=True)
    assert "Turn on two-step login" in client.get("/account/mfa").get_data(as_text=True)
    set_up(client)
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "10 unused recovery codes left" in page and "Turn off" in page
    client.post("/logout")
    assert password_step(client, learner.email).location == "/login/code"
    assert do_login(client, learner.email).status_code == 302

    assert client.post("/account/mfa/disable", data={"off-proof": "wrong password"}).status_code == 400
    assert client.post("/account/mfa/disable", data={"off-proof": "000000"}).status_code == 400
    response = client.post("/account/mfa/disable", data={"off-proof": fresh_code(app, learner.email)})
    assert response.status_code == 303
    assert factor(app, learner.id) is None
    client.post("/logout")
    assert password_step(client, learner.email).location == "/courses"
    assert actions(app, learner.id) == ["mfa enabled", "recovery codes made", "mfa failed", "mfa disabled"]


def test_staff_cannot_turn_it_off(app, make_user):
    admin = make_user(email="ada@example.com", role="admin")
    client = new_client(app)
    do_login(client, admin.email)
    page = client.get("/account/mfa").get_data(as_text=True)
    assert "Your role requires it" in page and "off-proof" not in page
    response = client.post("/account/mfa/disable", data={"off-proof": DEFAULT_PASSWORD})
    assert response.status_code == 303
    assert factor(app, admin.id) is not None


# -- resets -------------------------------------------------------------------------------------------------------
def test_the_cli_resets_a_users_mfa(app, make_user):
    instructor = make_user(email="ian@example.com", role="instructor")
    with app.app_context():
        mfa.make_recovery_codes(_db.session.get(User, instructor.id))
        _db.session.commit()
    client = new_client(app)
    do_login(client, instructor.email)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "reset-mfa", "IAN@example.com"])
    assert result.exit_code == 0, result.output
    assert "reset" in result.output
    with app.app_context():
        assert _db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == instructor.id)) is None
        assert _db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == instructor.id)) is None
        entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mfa reset"))
        assert entry.target_user_id == instructor.id and entry.actor_id is None
    assert client.get("/cohorts").status_code == 302  # their sessions ended
    assert password_step(client, instructor.email).location.startswith("/account/mfa/setup")
    assert runner.invoke(args=["users", "reset-mfa", "nobody@example.com"]).exit_code != 0
    assert "nothing to reset" in runner.invoke(args=["users", "reset-mfa", "ian@example.com"]).output


def test_an_admin_resets_a_users_mfa(app, make_user):
    admin = make_user(email="ada@example.com", role="admin")
    instructor = make_user(email="ian@example.com", role="instructor")
    client = new_client(app)
    do_login(client, admin.email)
    page = client.get("/admin/users").get_data(as_text=True)
    assert page.count('value="reset-mfa"') == 1  # the instructor's; not the admin's own
    response = client.post(f"/admin/users/{instructor.id}", data={"action": "reset-mfa"})
    assert response.status_code == 302
    assert factor(app, instructor.id) is None
    with app.app_context():
        entry = _db.session.scalar(select(AuditEntry).where(AuditEntry.action == "mfa reset"))
        assert (entry.actor_id, entry.target_user_id) == (admin.id, instructor.id)
    assert client.post(f"/admin/users/{instructor.id}", data={"action": "reset-mfa"}).status_code == 400


def test_the_demo_accounts_say_how_staff_log_in(app):
    result = app.test_cli_runner().invoke(args=["demo", "accounts"])
    assert result.exit_code == 0, result.output
    assert "two-step login" in result.output


# -- notices (ASVS 5.0 6.3.7) -------------------------------------------------------------------------------------
def mails_sent(caplog) -> list[tuple[str, str]]:
    """(to, subject) of each message the app sent since the log was cleared (the tests' mail goes to the log)."""
    found = re.findall(r"^To: (\S+)\nSubject: (.+)$", caplog.text, flags=re.MULTILINE)
    caplog.clear()
    return found


def test_every_change_to_two_step_login_is_emailed_to_the_account(app, make_user, caplog):
    learner = make_user(email="lee@example.com")
    instructor = make_user(email="ian@example.com", role="instructor")
    with app.app_context():
        _db.session.get(User, instructor.id).language = "zh_Hans"  # a notice someone else causes: in theirs
        _db.session.commit()
    caplog.set_level("WARNING", logger="course.mail")
    client = new_client(app)
    do_login(client, learner.email)
    caplog.clear()
    set_up(client)
    assert mails_sent(caplog) == [("lee@example.com", "Two-step login is on for your Founder Course account")]
    response = client.post("/account/mfa/disable", data={"off-proof": "wrong password"})
    assert response.status_code == 400 and mails_sent(caplog) == []  # refused: nothing changed, nothing sent
    client.post("/account/mfa/disable", data={"off-proof": DEFAULT_PASSWORD})
    assert mails_sent(caplog) == [("lee@example.com", "Two-step login is off for your Founder Course account")]

    admin = make_user(email="ada@example.com", role="admin")
    client = new_client(app)
    do_login(client, admin.email)
    caplog.clear()
    assert client.post(f"/admin/users/{instructor.id}", data={"action": "reset-mfa"}).status_code == 302
    assert mails_sent(caplog) == [("ian@example.com", "你的 Founder Course 账号的两步登录已被重置")]
    assert client.post(f"/admin/users/{instructor.id}", data={"action": "reset-mfa"}).status_code == 400
    assert mails_sent(caplog) == []  # nothing to reset: no notice
    with app.app_context():
        _db.session.get(User, instructor.id).language = "en"
        _db.session.commit()
        mfa.make_recovery_codes(_db.session.get(User, instructor.id))
        _db.session.commit()
    assert app.test_cli_runner().invoke(args=["users", "reset-mfa", "ian@example.com"]).exit_code == 0
    assert mails_sent(caplog) == [("ian@example.com", "The two-step login of your Founder Course account was reset")]


def test_a_password_reset_from_a_link_is_emailed_but_a_first_password_is_not(app, make_user, caplog):
    learner = make_user(email="lee@example.com")
    with app.app_context():
        first = make_set_password_token(_db.session.get(User, learner.id))
    caplog.set_level("WARNING", logger="course.mail")
    new = "a brand new passphrase"
    response = new_client(app).post(f"/password/set/{first}", data={"password": new, "confirm": new})
    assert response.status_code == 302 and mails_sent(caplog) == []
    with app.app_context():  # a link works once: the next is made after the password it replaces
        reset = make_token(_db.session.get(User, learner.id), RESET_PASSWORD)
    newer = "an even newer passphrase"
    response = new_client(app).post(f"/password/reset/{reset}", data={"password": newer, "confirm": newer})
    assert response.status_code == 302
    assert mails_sent(caplog) == [("lee@example.com", "Your Founder Course password was reset")]
