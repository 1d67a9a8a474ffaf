"""The course's diagrams as pictures: each Mermaid block of the content is rendered ahead of time to two SVG files, a
light one and a dark one (`flask content diagrams`, course/content/diagram_render.py), kept in the repository next
to the content (`DIAGRAMS_DIR`, content/diagrams/) and served as static files under `/static/diagrams/`.

A file is named by the hash of what it shows (the renderer's settings, the theme, the diagram's source), so its URL
never changes meaning and is cached for a year. A lesson shows the pictures when both files exist, else the
diagram's source as text; `content check` and `content load` warn about a diagram without its pictures.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from flask import current_app, has_app_context, has_request_context, request
from flask_babel import gettext as _

# Everything the pictures depend on besides the source: change it (a new Mermaid, other fonts, other
# post-processing) and every diagram gets new names, to be rendered again.
RENDERER = "mermaid 12.3.0; htmlLabels false; wrap 260; fonts Noto Sans CJK SC, DejaVu Sans, Arial; svg v1"
THEMES = ("light", "dark")
URL_PREFIX = "/static/diagrams/"
DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "content" / "diagrams"
# What the stored HTML of a lesson says in English; shown in the reader's language by `localized`.
SOURCE_LABEL = "<summary>Diagram source (text)</summary>"
VIEWBOX = re.compile(rb'<svg[^>]*?\bviewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"')
RENDER_HINT = "run `make diagrams` (or `flask --app course content diagrams`) to render them"


def file_name(source: str, theme: str) -> str:
    digest = hashlib.sha256(f"{RENDERER}\n{theme}\n{source}".encode()).hexdigest()
    return f"{digest[:20]}.svg"


@dataclass(frozen=True)
class Picture:
    """A diagram's two rendered files and the size of the light one, in CSS pixels."""

    light: str
    dark: str
    width: int
    height: int


def svg_size(data: bytes) -> tuple[int, int] | None:
    match = VIEWBOX.search(data[:2000])
    if match is None:
        return None
    return round(float(match[1])), round(float(match[2]))


class Store:
    """The rendered files of one directory, listed once (and again when the directory changes)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            self.names = frozenset(os.listdir(directory))
        except OSError:
            self.names = frozenset()
        self._sizes: dict[str, tuple[int, int] | None] = {}

    def picture(self, source: str) -> Picture | None:
        light, dark = (file_name(source, theme) for theme in THEMES)
        if light not in self.names or dark not in self.names:
            return None
        if light not in self._sizes:
            try:
                self._sizes[light] = svg_size((self.directory / light).read_bytes())
            except OSError:
                self._sizes[light] = None
        size = self._sizes[light]
        return Picture(light, dark, *size) if size else None


def directory() -> Path:
    """Where the rendered diagrams are: the app's `DIAGRAMS_DIR`, else the repository's content/diagrams."""
    configured = current_app.config.get("DIAGRAMS_DIR") if has_app_context() else None
    return Path(configured) if configured else DEFAULT_DIR


def store() -> Store:
    path = directory()
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        changed = 0
    return _store(path, changed)


@lru_cache(maxsize=4)
def _store(path: Path, changed: int) -> Store:
    return Store(path)


def figure(source: str, alt: str, picture: Picture | None) -> str:
    """A diagram in a lesson: its picture (dark or light, as the reader's system is; light on paper) and its source
    as text."""
    code = f'<pre class="diagram-source"><code>{escape(source)}</code></pre>'
    if picture is None:
        return f'<figure class="diagram">{code}</figure>\n'
    return (
        '<figure class="diagram"><picture>'
        f'<source srcset="{URL_PREFIX}{picture.dark}" media="screen and (prefers-color-scheme: dark)">'
        f'<img class="diagram-image" src="{URL_PREFIX}{picture.light}" alt="{escape(alt)}" '
        f'width="{picture.width}" height="{picture.height}" decoding="async">'
        f"</picture><details>{SOURCE_LABEL}{code}</details></figure>\n"
    )


def localized(html: str) -> str:
    """A lesson's stored HTML as this request shows it: the diagrams' "source" label in the reader's language, and
    their URLs under the site's path when it is not at the root of its host. Nothing to do without a diagram."""
    if SOURCE_LABEL not in html:
        return html
    label = _("Diagram source (text)")  # outside an f-string, where pybabel's extractor finds it
    html = html.replace(SOURCE_LABEL, f"<summary>{escape(label)}</summary>")
    root = request.script_root if has_request_context() else ""
    if root:  # the site's path, as the client sent it: escaped, being put into an attribute
        html = html.replace(f'="{URL_PREFIX}', f'="{escape(root)}{URL_PREFIX}')
    return html
