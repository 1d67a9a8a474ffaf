"""The UI speaks Simplified Chinese by default and English on request, and the zh_Hans catalog is complete.

The catalogs live in course/translations (Flask-Babel's `translations` directory, relative to the app's root
path, the `course` package). `make setup` compiles the .po into the .mo the app reads; `make translations`
re-extracts messages.pot from the sources and merges it into the .po after a UI string is added or changed.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import gettext, ngettext

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "course" / "translations"
POT = TRANSLATIONS / "messages.pot"
ZH_PO = TRANSLATIONS / "zh_Hans" / "LC_MESSAGES" / "messages.po"
ZH_MO = ZH_PO.with_suffix(".mo")
NOT_COMPILED = "no compiled zh_Hans catalog: run `make setup` (it compiles course/translations)"


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture
def browser(app):
    """A test client that sends no Accept-Language unless a test says so (the suite's `client` asks for
    English)."""
    return app.test_client()


def h1(response) -> str:
    match = re.search(r"<h1>(.*?)</h1>", response.get_data(as_text=True), re.S)
    assert match, response.get_data(as_text=True)
    return match.group(1).strip()


# -- the login page, in either language ---------------------------------------------------------------
def test_login_page_is_in_chinese_by_default(browser):
    response = browser.get("/login")
    assert response.status_code == 200
    assert ZH_MO.exists(), NOT_COMPILED
    html = response.get_data(as_text=True)
    assert h1(response) == "登录", NOT_COMPILED
    assert '<html lang="zh-Hans">' in html
    assert "<title>登录 · Founder Course</title>" in html
    assert ">邮箱</label>" in html and ">密码</label>" in html  # lazy form labels, from course/auth/forms.py
    assert "还没有账号？" in html
    # the switch offers the other language
    assert 'name="lang" value="en"' in html


def test_login_page_is_in_english_for_an_english_browser(browser):
    response = browser.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    html = response.get_data(as_text=True)
    assert h1(response) == "Log in"
    assert '<html lang="en">' in html
    assert ">Email</label>" in html and ">Password</label>" in html
    assert "登录" not in html
    assert 'name="lang" value="zh_Hans"' in html


def test_a_browser_asking_for_chinese_or_another_language_gets_chinese(browser):
    assert h1(browser.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})) == "登录"
    assert h1(browser.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"})) == "登录"


def test_switching_language_is_remembered_and_beats_the_browser(browser):
    response = browser.post("/language", data={"lang": "en", "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")
    assert h1(browser.get("/login")) == "Log in"

    response = browser.post("/language", data={"lang": "zh_Hans", "next": "/login"})
    assert response.status_code == 302
    # the session's choice wins over an English browser
    assert h1(browser.get("/login", headers={"Accept-Language": "en"})) == "登录"


def test_an_unknown_language_is_refused(browser):
    response = browser.post("/language", data={"lang": "fr"})
    assert response.status_code == 400
    assert "不支持该语言。" in response.get_data(as_text=True)
    assert h1(browser.get("/login")) == "登录"  # nothing was stored
    assert browser.post("/language", data={}).status_code == 400


def test_chinese_plurals_use_the_single_form(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert ngettext("%(num)d question", "%(num)d questions", 1) == "1 道题"
        assert ngettext("%(num)d question", "%(num)d questions", 3) == "3 道题"
        assert gettext("Attempt %(n)d", n=2) == "第 2 次作答"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert ngettext("%(num)d question", "%(num)d questions", 3) == "3 questions"


# -- the catalogs ---------------------------------------------------------------------------------
def test_the_test_setup_compiles_the_catalogues_a_fresh_clone_lacks(tmp_path):
    """The .mo files are build output (not committed): `pytest` without `make` compiles them first."""
    from babel.support import Translations
    from conftest import compile_catalogues

    copy = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, copy, ignore=shutil.ignore_patterns("*.mo"))
    assert compile_catalogues(copy) == [copy / "zh_Hans" / "LC_MESSAGES" / "messages.mo"]
    assert Translations.load(str(copy), ["zh_Hans"]).gettext("Log in") == "登录"
    assert compile_catalogues(copy) == []  # up to date: nothing written again


def test_every_message_has_a_chinese_translation():
    """An empty or fuzzy entry is shown in English (pybabel compile leaves fuzzy entries out)."""
    template = read_catalog(POT)
    catalog = read_catalog(ZH_PO, locale="zh_Hans")
    assert catalog.num_plurals == 1
    assert not catalog.fuzzy, "the .po header is marked fuzzy: pybabel compile would skip the whole catalog"

    problems = []
    for entry in template:
        if not entry.id:
            continue
        message = catalog.get(entry.id, entry.context)
        strings = (
            () if message is None else (message.string if isinstance(message.string, tuple) else (message.string,))
        )
        if message is None:
            problems.append(f"missing from the .po: {entry.id!r}")
        elif not strings or not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {entry.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy (check it, then remove the fuzzy flag): {entry.id!r}")
    assert not problems, (
        "run `make translations`, then translate in " + str(ZH_PO.relative_to(ROOT)) + ":\n" + ("\n".join(problems))
    )


def test_translations_keep_their_placeholders():
    catalog = read_catalog(ZH_PO, locale="zh_Hans")
    errors = [f"{message.id!r}: {'; '.join(map(str, errs))}" for message, errs in catalog.check()]
    assert not errors, "\n".join(errors)
    # Templates use new-style gettext: every string is %-formatted, so a lone % breaks the page.
    for message in catalog:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and "%" not in ids[0]:
            assert not any("%" in s for s in strings if s), message.id


def extracted_messages() -> set[tuple[str, str | None]]:
    """What `make translations` would put in messages.pot, extracted from the sources now."""
    with (TRANSLATIONS / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(TRANSLATIONS / "babel.cfg"))
    keywords = dict(DEFAULT_KEYWORDS, _l=None)

    def directory_filter(path: str) -> bool:  # the Makefile's --ignore-dirs ".* __pycache__"
        return not any(fnmatch.fnmatch(os.path.basename(path), p) for p in (".*", "__pycache__"))

    found = set()
    for folder in ("course", "templates"):
        for _filename, _lineno, message, _comments, context in extract_from_dir(
            ROOT / folder, method_map, options_map, keywords=keywords, directory_filter=directory_filter
        ):
            found.add((message[0] if isinstance(message, tuple) else message, context))
    return found


def test_messages_pot_is_up_to_date_with_the_sources():
    """A string marked for translation but never extracted would be shown in English."""
    in_pot = {(m.id[0] if isinstance(m.id, tuple) else m.id, m.context) for m in read_catalog(POT) if m.id}
    not_extracted = sorted(msgid for msgid, _context in extracted_messages() - in_pot)
    assert not not_extracted, "run `make translations` and translate the new strings:\n" + "\n".join(
        map(repr, not_extracted)
    )


def test_sentences_are_joined_as_each_language_writes_them(app):
    """Two messages in one paragraph: "A. B." in English; "甲。乙。" in Chinese, without a space between."""
    from course.i18n import sentences

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert sentences(["Too short.", "", "Too common."]) == "Too short. Too common."
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert sentences(["太短。", "太常见。"]) == "太短。太常见。"


def test_babels_global_table_is_let_go_once_the_languages_are_loaded(database_url):
    """Babel reads its global table (about 2.2 MB) to load a language's data, and would keep it: the app loads its
    languages at start and lets the table go (course/i18n.py `load_locale_data`). Dates still format in both."""
    from datetime import date

    import babel.core
    from conftest import build_app, dispose
    from flask_babel import force_locale, format_date

    babel.core.get_global("likely_subtags")  # as a process that formatted something before would hold it
    assert babel.core._global_data is not None
    app = build_app(database_url)
    try:
        assert babel.core._global_data is None
        with app.test_request_context():
            with force_locale("en"):
                english = format_date(date(2026, 12, 5), "long")
            with force_locale("zh_Hans"):
                chinese = format_date(date(2026, 12, 5), "long")
        assert (english, chinese) == ("December 5, 2026", "2026年12月5日")
        assert babel.core._global_data is None  # formatting the site's languages did not need it again
    finally:
        dispose(app)


def test_the_languages_data_the_site_never_shows_is_set_aside_and_comes_back_when_asked():
    """The CLDR tables a worker keeps hold dates, numbers and lists; unit, currency, language, territory and time
    zone names, relative dates and intervals (about 2.5 MB) are kept compressed, and put back at their first use.
    The formats the pages use need none of them. A language loaded later (inheriting from one set aside) gets its
    whole table."""
    from babel import localedata

    from course.i18n import UNSHOWN_LOCALE_DATA, load_locale_data

    saved = dict(localedata._cache), dict(localedata._dict_cache)
    localedata.clear_caches()  # as a new process: no earlier test's use of a set-aside key
    try:
        _check_set_aside(UNSHOWN_LOCALE_DATA, load_locale_data)
    finally:
        localedata.clear_caches()
        localedata._cache.update(saved[0])
        localedata._dict_cache.update(saved[1])


def _check_set_aside(unshown: frozenset[str], load_locale_data) -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    from babel import Locale, localedata
    from babel.dates import format_date, format_datetime, format_time
    from babel.lists import format_list
    from babel.numbers import format_percent

    load_locale_data(["zh_Hans", "en"])
    for name in ("root", "zh", "zh_Hans", "en"):
        assert not unshown & set(dict.keys(localedata.load(name))), name
    assert format_date(date(2026, 12, 5), "full", locale="zh_Hans") == "2026年12月5日星期六"
    assert format_list(["A", "B", "C"], locale="en") == "A, B, and C"
    assert format_percent(0.25, locale="zh_Hans") == "25%"
    at = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)  # the formats the pages use (course/app.py's filters)
    assert format_datetime(at, "short", locale="en") == "12/5/26, 9:30\u202fAM"
    assert format_datetime(at, "medium", locale="zh_Hans") == "2026年12月5日 09:30:00"
    assert format_time(at, "short", locale="zh_Hans") == "09:30"
    for name in ("root", "zh", "zh_Hans", "en"):  # they left every set-aside part aside
        assert not unshown & set(dict.keys(localedata.load(name))), name
    assert not {"time_zones", "meta_zones", "date_fields"} & set(dict.keys(localedata.load("zh_Hans")))
    full = format_time(at, "full", tzinfo=ZoneInfo("Asia/Shanghai"), locale="zh_Hans")  # a zone's name: back
    assert full == "中国标准时间 17:30:00"
    assert "meta_zones" in dict.keys(localedata.load("zh_Hans"))
    assert Locale.parse("en").languages["fr"] == "French"  # set aside, back when asked
    assert Locale.parse("zh_Hans").territories["CN"] == "中国"
    assert "languages" in dict.keys(localedata.load("en"))
    assert Locale.parse("en_GB").currencies["GBP"] == "British Pound"  # inherits from en: its whole table
    load_locale_data(["zh_Hans", "en"])  # again (another app in the process): the tables are set aside once
    assert Locale.parse("zh_Hans").languages["en"] == "英语"
    assert Locale.parse("en")._data.get("no such key") is None  # not in the data at all: nothing to put back
