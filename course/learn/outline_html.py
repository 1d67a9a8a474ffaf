"""The outline page's chapters, each rendered once for every state it can show and kept.

The outline lists every chapter of the course with the reader's state of each lesson and quiz: about 450 µs of
template work a request for the real course's 40 lessons and 12 quizzes, most of the page's cost. A chapter's HTML
depends only on what `_key` lists — the chapter, the reader's state of each of its items, whether they are signed
in, when it opens for them, the languages and the links — so it is rendered once for each such state and kept,
shared by every reader in that state (most readers of a chapter are in one of a few: not started, done).

Keyed by the cached outline (`course.content.outline`), which a content change replaces: a new outline's chapters
are rendered again and the old ones go with it. At most `KEEP` states per outline are kept, the most recently
shown.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from weakref import WeakKeyDictionary

from flask import render_template
from jinja2.filters import do_round
from markupsafe import Markup

from course.content.i18n import content_language
from course.content.outline import Outline
from course.i18n import language
from course.learn.links import ItemLinks
from course.progress.opening import format_opening
from course.progress.outline import ChapterStatus, ModuleStatus

KEEP = 512

_lock = threading.Lock()
_kept: WeakKeyDictionary[Outline, OrderedDict[tuple, Markup]] = WeakKeyDictionary()


class ChapterSections:
    """`chapters(m)` in the outline template: the HTML of module `m`'s chapters' sections for this reader."""

    def __init__(self, outline: Outline, titles: Mapping[object, Markup], links: ItemLinks, signed_in: bool):
        self.outline, self.titles, self.links, self.signed_in = outline, titles, links, signed_in
        # What every chapter's HTML depends on besides its own state: the interface's language (the labels), the
        # content's (the titles) and the links (the application's root, behind a proxy).
        self.page = (language().tag, content_language(), links.lesson, links.quiz, signed_in)

    def __call__(self, module: ModuleStatus) -> Markup:
        """The sections of the module's chapters, one after the other."""
        kept = _kept.get(self.outline)
        parts = []
        for chapter in module.chapters:
            key = _key(chapter, self.page)
            html = kept.get(key) if kept is not None else None
            if html is None:
                html = self._render(chapter, key)
                kept = _kept.get(self.outline)
            else:
                try:
                    kept.move_to_end(key)  # the most recently shown stay when the oldest are let go
                except KeyError:  # let go by another thread meanwhile: shown now all the same
                    pass
            parts.append(html)
        return Markup("\n").join(parts)

    def _render(self, chapter: ChapterStatus, key: tuple) -> Markup:
        html = Markup(  # noqa: S704  # nosec B704 - our own template's output, escaped as it rendered
            render_template(
                "learn/_outline_chapter.html",
                c=chapter,
                titles=self.titles,
                signed_in=self.signed_in,
                lesson_link=self.links.lesson,
                quiz_link=self.links.quiz,
                opens=key[2],
            )
        )
        with _lock:
            kept = _kept.get(self.outline)
            if kept is None:
                kept = _kept[self.outline] = OrderedDict()
            kept[key] = html
            if len(kept) > KEEP:
                kept.popitem(last=False)
        return html


def _key(c: ChapterStatus, page: tuple) -> tuple:
    """Everything a chapter's section shows: with the page's languages and links, it decides the HTML. Each lesson
    is None (not opened), False (opened) or True (complete); the chapter's percentage and whether it is done follow
    from these and the quiz's state."""
    quiz = c.quiz
    return (
        page,
        c.chapter.id,
        format_opening(c.opens_on) if c.opens_on is not None else None,  # in the reader's time zone and language
        tuple(None if (p := ls.progress) is None else p.completed_at is not None for ls in c.lessons),
        None if quiz is None else (quiz.passed, _shown_percent(quiz.best_percent), bool(quiz.attempts), quiz.open),
    )


def _shown_percent(best: float | None) -> int | None:
    """The best score as the page shows it (`best_percent|round|int`): scores that show alike share a state."""
    return None if best is None else int(do_round(best))


def kept_count() -> int:
    """How many chapter states are kept, for every outline (for the tests)."""
    return sum(len(states) for states in list(_kept.values()))
