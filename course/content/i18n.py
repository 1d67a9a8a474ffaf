"""Showing content in the reader's language: the course's own texts, or a translation loaded from
`*.<lang>.md` / `quiz.<lang>.yaml` (stored in each row's `i18n`), with the original as the fallback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import has_request_context

from course.i18n import language


def content_language() -> str:
    """The reader's language as a content language tag: "en", or "" for the course's own language."""
    if not has_request_context():
        return ""
    return "en" if language().tag.startswith("en") else ""


def content_language_for(language_tag: str | None) -> str:
    """`content_language` for a language named outside a request (an email's, a calendar feed's): "en" or ""."""
    return "en" if (language_tag or "").startswith("en") else ""


_MISSING = object()
BODY_FIELDS = {"body_html", "takeaways"}


def tr(obj: Any, field: str, default: Any = _MISSING, lang: str | None = None) -> Any:
    """`obj.field` in the reader's language when the content has it, else in the course's language
    (`default` when the object has no such attribute, e.g. a course's closing words kept in `meta`)."""
    lang = content_language() if lang is None else lang
    if lang:
        # A lesson keeps its translated body apart (`i18n_body`, loaded with the body only when shown).
        store = "i18n_body" if field in BODY_FIELDS and hasattr(type(obj), "i18n_body") else "i18n"
        translated = (getattr(obj, store, None) or {}).get(lang, {})
        if translated.get(field) not in (None, "", []):
            return translated[field]
    return getattr(obj, field) if default is _MISSING else getattr(obj, field, default)


def tr_for_request() -> Callable[..., Any]:
    """`tr` with the reader's language looked up once: what a template calls for every title it shows."""
    lang = content_language()

    def bound(obj: Any, field: str, default: Any = _MISSING) -> Any:
        return tr(obj, field, default, lang)

    return bound
