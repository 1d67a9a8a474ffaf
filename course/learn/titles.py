"""The titles of a course's items in the reader's language, for a page that lists many of them (the outline shows
every module, chapter, lesson and quiz): looked up once per process for each outline and language, rather than
by `tr` for each item on every request.

Keyed by the items themselves: the cached outline's rows (`course.content.outline`), which a content change
replaces, so a new outline gets new titles and the old ones go with it. Kept escaped for HTML, as the page would
escape them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from weakref import WeakKeyDictionary

from markupsafe import Markup, escape

from course.content.i18n import content_language, tr
from course.content.outline import Outline

_lock = threading.Lock()
_titles: WeakKeyDictionary[Outline, dict[str, dict[object, Markup]]] = WeakKeyDictionary()


def item_titles(outline: Outline) -> Mapping[object, Markup]:
    """Module, chapter, lesson or quiz of `outline` → its title in the reader's language."""
    lang = content_language()
    by_language = _titles.get(outline)
    titles = by_language.get(lang) if by_language is not None else None
    if titles is None:
        titles = _read(outline, lang)
        with _lock:
            _titles.setdefault(outline, {})[lang] = titles
    return titles


def _read(outline: Outline, lang: str) -> dict[object, Markup]:
    titles: dict[object, Markup] = {}
    for module in outline.modules:
        titles[module.module] = escape(tr(module.module, "title", lang=lang))
        for chapter in module.chapters:
            titles[chapter.chapter] = escape(tr(chapter.chapter, "title", lang=lang))
            for lesson in chapter.lessons:
                titles[lesson] = escape(tr(lesson, "title", lang=lang))
            if chapter.quiz is not None:
                titles[chapter.quiz] = escape(tr(chapter.quiz, "title", lang=lang))
    return titles
