"""The checks of a lesson's Markdown body, on the blocks the renderer sees (markdown-it's tokens): diagrams that
Mermaid cannot read, a level-1 heading, a code block never closed, stray tokens."""

from __future__ import annotations

from markdown_it.token import Token

from course.content import diagrams, mermaid
from course.content.documents import STRAY_TOKEN
from course.content.render import block_tokens, fence_language

TITLE_AS_HEADING = "use `##` and below in a lesson: the title is the page heading"


UNRENDERED = f"mermaid diagram: not rendered to SVG, so readers see its source as text: {diagrams.RENDER_HINT}"


def markdown_problems(
    body: str, first_line: int, warnings: list[tuple[int, str]] | None = None
) -> list[tuple[int, str]]:
    """The problems of a lesson body as (line, message); `first_line` is the line of the body's first line. What
    does not stop a load (a diagram not rendered yet) goes to `warnings`, if given."""
    if not body.strip():
        return [(first_line, "the lesson has no text")]
    problems: list[tuple[int, str]] = []
    code_lines: set[int] = set()  # the lines of code blocks, where a stray token may be quoted on purpose
    for token in block_tokens(body):
        if token.type == "heading_open" and token.tag == "h1":  # `# Title`, or a line of `===` under a title
            problems.append((first_line + token.map[0], TITLE_AS_HEADING))
        elif token.type in ("fence", "code_block"):
            code_lines.update(range(*token.map))
        if token.type == "fence":
            found = _fence_problems(token)
            problems += [(first_line + token.map[0] + line, message) for line, message in found]
            if warnings is not None and not found and fence_language(token) == "mermaid":
                if diagrams.store().picture(token.content) is None:
                    warnings.append((first_line + token.map[0], UNRENDERED))
    if "<|" in body:
        for number, line in enumerate(body.split("\n")):
            if number not in code_lines and (found := STRAY_TOKEN.search(line)):
                problems.append((first_line + number, f"stray token {found.group(0)!r}"))
    return problems


def _fence_problems(fence: Token) -> list[tuple[int, str]]:
    """A fenced block's problems, each at its line counted from the opening line (0)."""
    # markdown-it runs a fence never closed to the end of the document (or of its list item or quote), so the
    # fence does not end with its closing line: its lines are only the opening line and the content.
    content_lines = fence.content.count("\n") + (not fence.content.endswith("\n") and fence.content != "")
    if fence.map[1] - fence.map[0] != content_lines + 2:
        return [(0, "this code block is never closed")]
    if fence_language(fence) == "mermaid":
        return [(error.line, f"mermaid diagram: {error}") for error in mermaid_errors(fence.content)]
    return []


def mermaid_errors(source: str) -> list[mermaid.MermaidError]:
    """Every error the Mermaid check finds in a diagram. The check stops at the first error, so it runs again
    with that line blanked out, until it passes or meets an error it cannot go past: in the header (the
    diagram type) or at the end (a `subgraph` never closed). At most one error per line."""
    lines = source.splitlines()
    errors: list[mermaid.MermaidError] = []
    while True:
        try:
            mermaid.check("\n".join(lines))
            return errors
        except mermaid.MermaidError as exc:
            if any((known.line, str(known)) == (exc.line, str(exc)) for known in errors):
                return errors  # the same error again: the last line did not cause it
            errors.append(exc)
            header = next((i for i, text in enumerate(lines) if text.strip() and not text.strip().startswith("%%")), 0)
            at = exc.line - 1
            if not header < at < len(lines) or not lines[at].strip():
                return errors
            lines[at] = ""
