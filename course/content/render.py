"""Markdown to safe HTML, done once at load time so lesson pages only display stored HTML.

markdown-it and nh3 (about 1.5 MB, most of it nh3's compiled library) are imported by the first rendering, not by
every web worker at start: a worker that only shows stored HTML never needs them (docs/PERFORMANCE.md, "Memory").
"""

from __future__ import annotations

import re
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from course.content import diagrams

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    "del",
    "figure",
    "figcaption",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "pre": {"class"}, "code": {"class"}, "figure": {"class"}}


NODE = re.compile(r"([\w.]+)\s*(?:(?:\[\[|\[\(|\(\(|\[|\(|\{\{|\{|>)\"?([^\]\)\}\"\[\(\{]+))?")
EDGE_LABEL = re.compile(r"\|[^|]*\|")
KEYWORDS = {"subgraph", "end", "classDef", "class", "style", "linkStyle", "click", "direction"}


def diagram_alt(source: str) -> str:
    """A text alternative for a flowchart: its nodes (label, else id) in the order they first appear."""
    names: dict[str, str] = {}
    for line in source.splitlines()[1:]:
        line = EDGE_LABEL.sub(" ", line).strip()
        if not line or line.startswith("%%") or line.split()[0] in KEYWORDS:
            continue
        for node_id, label in NODE.findall(line):
            if label.strip() or node_id not in names:
                names[node_id] = label.strip() or names.get(node_id, node_id)
    return " → ".join(dict.fromkeys(names.values()))


def fence_language(token: Token) -> str:
    """The language a fenced code block names (the first word of its info string), lowercased: `mermaid`, …"""
    words = token.info.split()
    return words[0].lower() if words else ""


# Where a diagram goes until the HTML is sanitised: the picture's markup is the renderer's own, put in afterwards,
# so the sanitiser need not allow images (an author's Markdown image stays out). Markdown cannot write a tag itself.
DIAGRAM_PLACE = '<figure class="diagram"></figure>'


def _fence(self, tokens, idx, options, env) -> str:  # markdown-it's renderer rule signature
    token = tokens[idx]
    info = fence_language(token)
    if info == "mermaid" and env.get("pictures", True):
        # Rendered ahead of time to SVG files (course/content/diagrams.py); without them, the source as text.
        picture = diagrams.store().picture(token.content)
        env.setdefault("diagrams", []).append(diagrams.figure(token.content, diagram_alt(token.content), picture))
        return DIAGRAM_PLACE + "\n"
    lang = f' class="language-{escape(info)}"' if info else ""
    return f"<pre><code{lang}>{escape(token.content)}</code></pre>\n"


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.add_render_rule("fence", _fence)
    return md


def block_tokens(text: str) -> list[Token]:
    """The block tokens the renderer sees in `text` (fences, code blocks, headings, paragraphs, lists, tables),
    each with its `map` of lines; the text inside them is not parsed into inline tokens, which is most of the
    cost of a full parse, and which the lesson checks do not need."""
    from markdown_it.rules_core import inline
    from markdown_it.rules_core.state_core import StateCore

    md = _markdown()
    state = StateCore(text, md, {})
    for rule in md.core.ruler.getRules(""):
        if rule is inline:
            break
        rule(state)
    return state.tokens


def render_markdown(text: str, pictures: bool = True) -> str:
    """Sanitised HTML. A Mermaid block is its rendered picture (a lesson: shown through the `diagrams` filter, which
    puts its URLs under the site's path); with `pictures=False` (an announcement), it is code like any other."""
    import nh3

    env: dict = {"pictures": pictures}
    html = _markdown().render(text, env)
    html = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    figures = env.get("diagrams")
    if figures:
        parts = html.split(DIAGRAM_PLACE + "\n")
        if len(parts) != len(figures) + 1:  # the sanitiser changed a placeholder: a bug here, never the author's
            raise RuntimeError(f"{len(figures)} diagram(s) but {len(parts) - 1} place(s) for them in the HTML")
        html = parts[0] + "".join(figure + part for figure, part in zip(figures, parts[1:], strict=True))
    return html
