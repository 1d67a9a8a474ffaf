"""What every page's frame is made of, built once where Flask and Jinja would build it for every request:

- a form's hidden CSRF field, the progress bar and a question's options (`course/components.py`: template globals,
  not macros);
- the session cookie's signing serializer (once for the app's keys, again when they change);
- the request's CSRF token, signed once a minute per session rather than for every page;
- the templates' `_`/`ngettext` (once per language's catalogue), the request's language and its catalogue (once
  per language and app), an Accept-Language header's choice (once per header).
"""

from __future__ import annotations

import re
import time

from conftest import do_login
from flask import render_template_string, request
from flask_babel import force_locale, get_locale, refresh
from flask_wtf.csrf import generate_csrf, validate_csrf

import course.components
import course.i18n
from course.components import choice_inputs, csrf_input, csrf_token, progress_bar
from course.i18n import language, template_functions

CSRF_FIELD = re.compile(r'<input type="hidden" name="([^"]*csrf_token)" value="([^"]+)">')


def test_a_forms_csrf_field_is_named_as_wtforms_names_it_and_holds_the_requests_token(app):
    with app.test_request_context("/"):
        token = generate_csrf()
        assert csrf_input() == f'<input type="hidden" name="csrf_token" value="{token}">'
        assert csrf_input("wb-why") == f'<input type="hidden" name="wb-why-csrf_token" value="{token}">'
        assert 'name="&#34;&gt;&lt;b&gt;-csrf_token"' in csrf_input('"><b>')  # a prefix is text, never markup
        assert render_template_string("{{ csrf_input() }}") == csrf_input()  # a global: no import, not escaped


def test_a_progress_bar_reads_as_text_and_escapes_its_label(app):
    with app.test_request_context("/"):
        bar = render_template_string("{{ progress_bar(42, label) }}", label="Progress in <Part 1> & more")
    assert bar == progress_bar(42, "Progress in <Part 1> & more")
    assert bar == (
        '<div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="42"'
        ' aria-label="Progress in &lt;Part 1&gt; &amp; more">\n'
        '  <progress max="100" value="42">42%</progress>\n'
        '  <span class="progress-text">42%</span>\n'
        "</div>"
    )


class _Choice:
    def __init__(self, token: str, text: str) -> None:
        self.token, self.text = token, text


def test_a_questions_options_are_inputs_with_labels_their_text_escaped(app):
    choices = [_Choice("a1b2", "Yes <b>really</b> & truly"), _Choice("c3d4", "No")]
    with app.test_request_context("/"):
        shown = render_template_string(
            "{{ choice_inputs(kind, 'q-1', choices, chosen, error) }}",
            kind="checkbox", choices=choices, chosen=["c3d4"], error="Choose one.",
        )  # fmt: skip
    assert shown == choice_inputs("checkbox", "q-1", choices, ["c3d4"], True)  # a global: not escaped again
    assert shown == (
        '<div class="option">\n'
        '  <input type="checkbox" id="in-q-1-1" name="q-1" value="a1b2" aria-invalid="true">\n'
        '  <label for="in-q-1-1">Yes &lt;b&gt;really&lt;/b&gt; &amp; truly</label>\n'
        "</div>\n"
        '<div class="option">\n'
        '  <input type="checkbox" id="in-q-1-2" name="q-1" value="c3d4" checked aria-invalid="true">\n'
        '  <label for="in-q-1-2">No</label>\n'
        "</div>"
    )
    assert 'name="&#34;&gt;"' in choice_inputs("radio", '">', choices, [], False)  # a key is text, never markup
    assert "aria-invalid" not in choice_inputs("radio", "q-1", choices, [], False)


def test_the_header_forms_tokens_are_the_ones_the_app_accepts(app, client, learner):
    app.config["WTF_CSRF_ENABLED"] = True  # the tests' config checks no token
    html = client.get("/courses").get_data(as_text=True)
    fields = CSRF_FIELD.findall(html)
    assert [name for name, _ in fields] == ["csrf_token", "csrf_token"]  # log out and the language switch
    switch = {"lang": "en", "next": "/courses"}
    assert client.post("/language", data={**switch, "csrf_token": "forged"}).status_code == 400
    assert client.post("/language", data={**switch, "csrf_token": fields[1][1]}).status_code == 302
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/account").status_code == 200  # still logged in
    assert client.post("/logout", data={"csrf_token": fields[0][1]}).status_code == 302
    assert client.get("/account").status_code == 302  # logged out: to the login page


def test_the_session_serializer_is_built_once_and_again_when_the_keys_change(app, client, make_user):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first

    user = make_user(email="keys@example.com", name="Key Holder")
    assert do_login(client, user.email).status_code == 302
    assert client.get("/account").status_code == 200
    old_key = app.secret_key
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    app.secret_key = "a-new-secret-key-for-this-test-0123456789"
    rotated = interface.get_signing_serializer(app)
    assert rotated is not first
    page = client.get("/account")
    assert page.status_code == 200  # the old cookie is still good: its key is a fallback
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert interface.get_signing_serializer(app) is not rotated
    assert client.get("/account").status_code == 302  # the cookie signed with the old key is no longer good


def test_a_session_cookie_is_opened_once_and_still_checked(app, client, make_user, monkeypatch):
    """The same cookie value is verified and decoded once per process; a changed value is verified as any other; a
    kept one older than the session's lifetime is refused; each request gets its own copy of what it holds."""
    import course.api.auth as session_module

    interface = app.session_interface
    user = make_user(email="cookie@example.com", name="Cookie Holder")
    assert do_login(client, user.email).status_code == 302
    assert client.get("/account").status_code == 200  # the page's CSRF token written into the session: a new cookie
    serializer = interface.get_signing_serializer(app)
    verified = []
    loads = type(serializer).loads
    monkeypatch.setattr(type(serializer), "loads", lambda self, *a, **k: verified.append(1) or loads(self, *a, **k))
    assert [client.get("/account").status_code for _ in range(3)] == [200, 200, 200]
    assert len(verified) == 1  # the same cookie, opened once

    cookie = client.get_cookie("session")
    forged = cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB")  # its signature changed
    client.set_cookie("session", forged)
    assert client.get("/account").status_code == 302 and len(verified) == 2  # verified, refused: to the login page
    client.set_cookie("session", cookie.value)
    assert client.get("/account").status_code == 200 and len(verified) == 2  # the genuine one, still kept

    lifetime = app.permanent_session_lifetime.total_seconds()
    with app.test_request_context(headers={"Cookie": f"session={cookie.value}"}):
        assert interface.open_session(app, request)["_user_id"]  # kept, and good
        later = time.time() + lifetime + 5
        monkeypatch.setattr(session_module.time, "time", lambda: later)
        assert dict(interface.open_session(app, request)) == {}  # kept, but older than the lifetime: refused

    monkeypatch.undo()
    flashed = serializer.dumps({"_flashes": [("info", "one")]})  # a list kept in the session
    for _ in range(2):
        with app.test_request_context(headers={"Cookie": f"session={flashed}"}):
            opened = interface.open_session(app, request)
            assert opened["_flashes"] == [("info", "one")]  # the second time too: not the first request's list
            opened["_flashes"].append(("info", "two"))


def test_the_templates_translation_functions_are_made_once_per_language(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = template_functions()
        assert render_template_string("{{ _('Log out') }}") == "Log out"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert template_functions()["gettext"] is english["gettext"]
        assert template_functions()["ngettext"] is english["ngettext"]
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        chinese = template_functions()
        assert chinese["gettext"] is not english["gettext"]
        assert chinese["current_locale"] == "zh_Hans"
        assert render_template_string("{{ _('Log out') }}") == "退出登录"
        assert render_template_string("{{ ngettext('%(num)d question', '%(num)d questions', 2) }}") == "2 道题"


def test_a_sessions_csrf_token_is_signed_once_a_minute_and_stays_one_the_app_accepts(app, client, learner, monkeypatch):
    """Two pages of a session within a minute carry the same signed token (flask-wtf would sign it again, with the
    new second in it); after a minute it is signed again; each is accepted; another session's is its own."""
    app.config["WTF_CSRF_ENABLED"] = True
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])  # itsdangerous's timestamp and the kept copy's age

    def tokens() -> list[str]:
        return [value for _, value in CSRF_FIELD.findall(client.get("/courses").get_data(as_text=True))]

    tokens()  # the session's first token: made, and put in the session, by flask-wtf
    clock[0] += 2
    first = tokens()
    assert len(first) == 2 and first[0] == first[1]  # one token per request, for every form of the page
    clock[0] += 5
    assert tokens() == first  # five seconds later: the same signed copy, not one with the new time in it
    clock[0] += course.components.SIGNED_REUSED_SECONDS
    later = tokens()
    assert later[0] != first[0]  # over a minute after it was signed: signed again
    switch = {"lang": "en", "next": "/courses"}
    assert client.post("/language", data={**switch, "csrf_token": first[0]}).status_code == 302  # both still good
    assert client.post("/language", data={**switch, "csrf_token": later[0]}).status_code == 302
    with app.test_request_context("/"):  # another browser: a session of its own, a token of its own
        assert generate_csrf() not in (first[0], later[0])


def test_the_kept_csrf_token_is_the_requests_token_for_flask_wtf_and_follows_the_key(app):
    with app.test_request_context("/"):
        token = csrf_token()  # a new session: made by flask-wtf
        assert generate_csrf() == token
    with app.test_request_context("/") as ctx:
        first = csrf_token()
        raw = ctx.session["csrf_token"]
    with app.test_request_context("/") as ctx:
        ctx.session["csrf_token"] = raw  # the same session, a request later
        again = csrf_token()
        assert again == first and generate_csrf() == first  # what a WTForms form on the page would carry
        validate_csrf(again)  # raises if not accepted
    app.secret_key = "another-secret-key-for-this-test-0123456789"
    with app.test_request_context("/") as ctx:
        ctx.session["csrf_token"] = raw
        rotated = csrf_token()
        assert rotated != first  # signed with the new key, not the kept copy of the old one's
        validate_csrf(rotated)


def test_a_requests_language_and_catalogue_are_found_once_per_language(app):
    for tag in ("zh_Hans", "en"):  # each language forced first (a command, an email): its own Locale object
        with app.test_request_context("/"), force_locale(tag):
            assert language().tag == tag
    with app.test_request_context("/", headers={"Accept-Language": "en-GB,en;q=0.9"}):
        english = language()
        assert english.tag == "en" and get_locale() is english.locale
    with app.test_request_context("/", headers={"Accept-Language": "en-GB,en;q=0.9"}):
        assert get_locale() is english.locale  # one Locale object per language, not one parsed per request
        assert language() is english  # and its catalogue not looked up again
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}):
        chinese = language()
        assert chinese.tag == "zh_Hans" and chinese.translations.ugettext("Log out") == "退出登录"
        with force_locale("en"):  # a forced language is obeyed, with the object flask-babel forced
            forced = language()
            assert forced.tag == "en" and forced.locale is get_locale()
            assert forced.translations is english.translations
        assert language() is chinese
    with app.test_request_context("/"):  # no header: the site's default language
        assert language().tag == app.config["BABEL_DEFAULT_LOCALE"]


def test_an_accept_language_headers_choice_is_kept_per_header(app, monkeypatch):
    import werkzeug.sansio.request

    parse = werkzeug.sansio.request.parse_accept_header
    parsed = []
    monkeypatch.setattr(werkzeug.sansio.request, "parse_accept_header", lambda *a: parsed.append(a[0]) or parse(*a))
    monkeypatch.setattr(course.i18n, "_ENGLISH_FIRST", {})
    for header, tag in [("en-US,en;q=0.9", "en"), ("zh-TW,zh;q=0.9", "zh_Hans"), ("fr-FR,en;q=0.3", "en")] * 2:
        with app.test_request_context("/", headers={"Accept-Language": header}):
            assert course.i18n.browser_locale() == tag
    assert parsed == ["en-US,en;q=0.9", "zh-TW,zh;q=0.9", "fr-FR,en;q=0.3"]  # each header parsed once
    with app.test_request_context("/"):
        assert course.i18n.browser_locale() == app.config["BABEL_DEFAULT_LOCALE"]  # none sent: nothing to parse
    assert len(parsed) == 3


def test_a_language_chosen_mid_request_is_the_one_the_rest_of_it_speaks(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert language().tag == "zh_Hans"
        from flask import session

        session["lang"] = "en"
        refresh()  # what the account page does after a change
        assert language().tag == "en"
        assert render_template_string("{{ _('Log out') }}") == "Log out"
