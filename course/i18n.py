"""The request's language, looked up once.

Flask-Babel finds the locale and its translations again for every string it translates (two context lookups
and the locale's identifier rebuilt as a cache key), and a page translates dozens. Here they are looked up
once per request and kept on `g`, checked against the locale object Flask-Babel holds, so a `force_locale`
or `refresh` is still obeyed. Templates get `gettext`/`ngettext` bound to that request's catalogue: they
behave as Jinja's i18n extension's "newstyle" functions that Flask-Babel installs (autoescaped, always
%-formatted with the keyword arguments), without the per-string lookups.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from babel import Locale
from babel.support import NullTranslations
from flask import g
from flask_babel import get_locale, get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup


class Language(NamedTuple):
    locale: Locale | None
    tag: str  # e.g. "zh_Hans", "en"
    translations: NullTranslations


def language() -> Language:
    locale = get_locale()
    known = g.get("_language")
    if known is None or known.locale is not locale:
        known = g._language = Language(locale, str(locale or ""), get_translations())
    return known


def template_functions() -> dict[str, Any]:
    """`current_locale`, `gettext` (and so `_`) and `ngettext` for one template render."""
    current = language()
    translations = current.translations

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # nosec B704 - our catalogue's text, as Jinja marks it; `%` escapes values
        return text % variables

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        if context.eval_ctx.autoescape:
            text = Markup(text)  # noqa: S704  # nosec B704 - our catalogue's text, as Jinja marks it; `%` escapes values
        return text % variables

    return {"current_locale": current.tag, "gettext": gettext, "ngettext": ngettext}
