"""Languages and time zones: which one a request uses, and the request's catalogue looked up once.

- `select_locale` / `select_timezone`: Flask-Babel's selectors (the signed-in user's choice, else the browser's).
- `language()`, `template_functions()`: the request's language found once.
- `speak_english`: the callback of every `flask` command group (a terminal has no request to choose from).
- `load_locale_data`: Babel's data for the site's languages, at start, without Babel's global table.

Flask-Babel finds the locale and its translations again for every string it translates (two context lookups
and the locale's identifier rebuilt as a cache key), and a page translates dozens. Here they are looked up
once per request and kept on `g`, checked against the locale object Flask-Babel holds, so a `force_locale`
or `refresh` is still obeyed. Templates get `gettext`/`ngettext` bound to that request's catalogue: they
behave as Jinja's i18n extension's "newstyle" functions that Flask-Babel installs (autoescaped, always
%-formatted with the keyword arguments), without the per-string lookups.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import click
import pytz
from babel import Locale
from babel.support import NullTranslations
from flask import current_app, g, has_request_context, request, session
from flask.cli import with_appcontext
from flask_babel import force_locale, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LANGUAGE_NAMES = {"zh_Hans": "简体中文", "en": "English"}  # each in its own language, as a switch shows them
# Offered first on the account page: where the course's learners mostly are, then the big hubs.
COMMON_TIME_ZONES = (
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "Australia/Sydney",
    "UTC",
)
TIME_ZONES = tuple(pytz.common_timezones)  # the IANA names Flask-Babel (pytz) knows, without the old aliases


def is_time_zone(name: str | None) -> bool:
    """A zone Flask-Babel can show dates in (any IANA name pytz knows, so a zone stored once stays usable)."""
    return bool(name) and name in pytz.all_timezones_set


def locale_of_request() -> Locale:
    """Flask-Babel's locale selector: `select_locale`'s language as Babel's `Locale`, one object per language for the
    process (Flask-Babel would parse the tag again for every request)."""
    tag = select_locale()
    found = _LOCALES.get(tag)
    if found is None:
        found = _LOCALES[tag] = Locale.parse(tag)
    return found


_LOCALES: dict[str, Locale] = {}


def select_locale() -> str:
    """The signed-in user's language, else this browser's choice (the switch), else its Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # work outside a request (the CLI forces English: `speak_english`)
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return browser_locale()


def browser_locale() -> str:
    """This browser's choice (the switch), else its Accept-Language: a request's language without its user."""
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    header = request.environ.get("HTTP_ACCEPT_LANGUAGE")
    english = _ENGLISH_FIRST.get(header) if header else False
    if english is None:  # a header not seen before: parsed once (browsers send a few, always the same)
        best = request.accept_languages.best_match(["zh", "zh_Hans", "zh-CN", "en"])
        english = bool(best and best.startswith("en"))
        if len(_ENGLISH_FIRST) >= _HEADERS_KEPT:
            _ENGLISH_FIRST.clear()
        _ENGLISH_FIRST[header] = english
    return "en" if english else current_app.config["BABEL_DEFAULT_LOCALE"]


# Accept-Language header → whether it prefers English to Chinese; emptied past a few hundred.
_HEADERS_KEPT = 512
_ENGLISH_FIRST: dict[str, bool] = {}


def select_timezone() -> str:
    """The signed-in user's time zone, else the site's (BABEL_DEFAULT_TIMEZONE). Dates are stored in UTC."""
    if has_request_context() and current_user.is_authenticated and is_time_zone(current_user.time_zone):
        return current_user.time_zone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


@with_appcontext
def speak_english() -> None:
    """The callback of every `flask` command group of the app: its commands speak English.

    Without a request there is no language to choose, so messages the services translate (a password problem, a
    cohort error) would come out in the default language, Chinese, among the commands' own English. The locale
    stays forced until the group's command returns."""
    click.get_current_context().with_resource(force_locale("en"))


# Babel's CLDR data that no page of the site shows: unit and currency names, other languages' and territories'
# names, compact numbers (about 1.9 MB of the four tables a worker keeps: root, zh, zh_Hans, en); time zone names,
# which only the "long" and "full" time formats print, relative dates ("yesterday"), date intervals and skeletons
# (about 0.6 MB more). Set aside once loaded: see `_SetAside`.
UNSHOWN_LOCALE_DATA = frozenset({
    "unit_patterns", "unit_display_names", "compound_unit_patterns", "languages", "territories", "scripts",
    "variants", "currency_names", "currency_names_plural", "currency_symbols", "compact_decimal_formats",
    "compact_currency_formats", "time_zones", "meta_zones", "zone_formats", "date_fields", "interval_formats",
    "datetime_skeletons",
})  # fmt: skip


class _SetAside(dict):
    """One language's CLDR data (a table of Babel's cache) without the parts in `unshown`, which are kept as one
    compressed copy (tens of KB) and put back at their first use, so nothing Babel or a page does depends on
    what was set aside."""

    def __init__(self, data: dict, unshown: frozenset[str]) -> None:
        super().__init__((key, value) for key, value in data.items() if key not in unshown)
        self._aside_keys = unshown & data.keys()
        self._aside = zlib.compress(pickle.dumps({key: data[key] for key in self._aside_keys}))

    def set_aside(self) -> dict:
        return pickle.loads(zlib.decompress(self._aside))  # noqa: S301  # nosec B301 - this process's own bytes

    def __missing__(self, key: Any) -> Any:
        if key not in self._aside_keys:  # not in the language's data at all: no need to open what was set aside
            raise KeyError(key)
        value = self[key] = self.set_aside()[key]
        return value

    def copy(self) -> dict:
        """The whole table: what Babel starts a language that inherits from this one with."""
        return {**self.set_aside(), **self}


def load_locale_data(languages: Iterable[str]) -> None:
    """Babel's CLDR data (month names, date formats) for each of the site's languages, loaded now rather than at
    the first formatted date, without what the site never shows, and Babel's global table let go once they are in.

    Babel reads its global table (every territory's currencies, zones and likely subtags: about 2.2 MB in memory)
    to load a language's data, only to find which language it inherits from, and keeps it for the life of the
    process. Loaded first and let go, the memory it took is given back before a request allocates anything in
    between (let go after a request, its blocks would stay). Babel reads it again if something later needs it
    (`babel.core.get_global`), so nothing depends on it staying out. The languages' own tables are kept
    without `UNSHOWN_LOCALE_DATA` (`_SetAside`). docs/PERFORMANCE.md, "Memory"."""
    import babel.core
    from babel import localedata

    for tag in languages:
        Locale.parse(tag).date_formats  # noqa: B018 - the access loads the language's data into Babel's cache
    with localedata._cache_lock:  # Babel's own cache of each table, and of its wrapper (which holds the table)
        for name, data in list(localedata._cache.items()):
            if not isinstance(data, _SetAside):
                localedata._cache[name] = _SetAside(data, UNSHOWN_LOCALE_DATA)
        localedata._dict_cache.clear()
    babel.core._global_data = None  # Babel's own lazily loaded cache: `get_global` loads it again when asked


class Language(NamedTuple):
    locale: Locale | None
    tag: str  # e.g. "zh_Hans", "en"
    translations: NullTranslations


def language() -> Language:
    locale = get_locale()
    known = g.get("_language")
    if known is None or known.locale is not locale:
        known = g._language = _language_of(locale)
    return known


# Each language's `Language`, per app: its catalogue is the one Flask-Babel keeps for the app's domain for the
# app's life (keyed there by the language's identifier alone), so it is found once, not for each request (the
# lookup, the identifier rebuilt and the selectors' context lookups were a twentieth of a lesson page's own work).
# Keyed by the domain's id, checked to be that domain; emptied past a few (apps made one after another, in the tests).
_LANGUAGES_KEPT = 16
_LANGUAGES: dict[tuple[int, Locale | None], tuple[object, Language]] = {}


def _language_of(locale: Locale | None) -> Language:
    domain = current_app.extensions["babel"].instance.domain_instance  # what `get_translations` reads
    key = (id(domain), locale)
    kept = _LANGUAGES.get(key)
    if kept is not None and kept[0] is domain:
        if kept[1].locale is locale:
            return kept[1]
        found = kept[1]._replace(locale=locale)  # another object for the language: a `force_locale`'s own
    else:
        found = Language(locale, str(locale or ""), get_translations())
    # Kept with the selector's own object (`locale_of_request`), which every request of the language gets; a forced
    # one only until a request brings the selector's.
    if kept is None or kept[0] is not domain or _LOCALES.get(found.tag) is locale:
        if len(_LANGUAGES) >= _LANGUAGES_KEPT:
            _LANGUAGES.clear()
        _LANGUAGES[key] = (domain, found)
    return found


def template_functions() -> dict[str, Any]:
    """`current_locale`, `gettext` and `_`, and `ngettext` for one template render."""
    current = language()
    gettext, ngettext = _translating(current.translations)
    # `_` is Jinja's i18n alias of `gettext`, which looks `gettext` up in the context and calls it: given directly
    return {"current_locale": current.tag, "gettext": gettext, "_": gettext, "ngettext": ngettext}


# The template functions of each catalogue, made once (flask-babel keeps one catalogue per language and app): id →
# the catalogue and its functions; emptied past a few (apps made one after another, in the tests).
_TRANSLATING_KEPT = 16
_TRANSLATING: dict[int, tuple[NullTranslations, Callable, Callable]] = {}


def _translating(translations: NullTranslations) -> tuple[Callable, Callable]:
    known = _TRANSLATING.get(id(translations))
    if known is not None and known[0] is translations:
        return known[1], known[2]

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            # our catalogue's text, marked safe as Jinja marks it; `%` escapes the values put into it
            text = Markup(text)  # noqa: S704  # nosec B704
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            # our catalogue's text, marked safe as Jinja marks it; `%` escapes the values put into it
            text = Markup(text)  # noqa: S704  # nosec B704
        return text % variables

    if len(_TRANSLATING) >= _TRANSLATING_KEPT:
        _TRANSLATING.clear()
    _TRANSLATING[id(translations)] = (translations, gettext, ngettext)
    return gettext, ngettext


def sentences(items: Iterable[Any]) -> str:
    """Whole sentences in one paragraph: a space between them, none in Chinese (its full stop "。" is wide).
    Sentences already made safe for HTML (an autoescaped template's `_()`) stay safe, the others are escaped."""
    tag = language().tag
    items = [item for item in items if item]
    separator = "" if tag.startswith("zh") else " "
    if any(isinstance(item, Markup) for item in items):
        return Markup(separator).join(items)  # noqa: S704  # nosec B704 - a constant; `join` escapes the unsafe items
    return separator.join(str(item) for item in items)
