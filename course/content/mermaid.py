"""A syntax check for Mermaid diagrams, so `content check` catches a broken diagram before a learner does.

Flowcharts (`graph` / `flowchart`, the kind the guide uses) are parsed statement by statement: node ids,
node shapes with their labels, links with optional labels, `subgraph … end`, and styling statements.
Other diagram types are accepted when their header is one Mermaid knows.
"""

from __future__ import annotations

import re

FLOWCHART_HEADER = re.compile(r"^(graph|flowchart)(\s+(TB|TD|BT|RL|LR))?\s*;?$")
OTHER_HEADERS = {
    "sequenceDiagram",
    "classDiagram",
    "stateDiagram",
    "stateDiagram-v2",
    "erDiagram",
    "journey",
    "gantt",
    "pie",
    "mindmap",
    "timeline",
    "quadrantChart",
    "gitGraph",
    "requirementDiagram",
    "xychart-beta",
    "sankey-beta",
    "block-beta",
}
STYLE_STATEMENT = re.compile(r"^(classDef|class|style|linkStyle|click|direction)\s+\S")
NODE_ID = re.compile(r"[\w.]+")
# Longest openers first, so "((" is not read as "(".
SHAPES = [
    ("(((", ")))"),
    ("((", "))"),
    ("([", "])"),
    ("[[", "]]"),
    ("[(", ")]"),
    ("{{", "}}"),
    ("[/", "/]"),
    ("[\\", "\\]"),
    ("[/", "\\]"),
    ("[\\", "/]"),
    ("[", "]"),
    ("(", ")"),
    ("{", "}"),
    (">", "]"),
]
LINK = re.compile(
    r"\s*(?:"
    r"<?(?:-{2,}|={2,}|-\.+-)[->ox]?"  # --> --- ==> === -.-> --o --x <-->
    r"|~~~"
    r"|--\s+[^-|>]+?\s+-->"  # -- text -->
    r"|==\s+[^=|>]+?\s+==>"
    r")(?:\|[^|]*\|)?\s*"
)
FORBIDDEN_IN_LABEL = set('[](){}"')


class MermaidError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line  # 1-based, within the diagram


def check(source: str) -> None:
    """Raise MermaidError (with the line within the diagram) if `source` is not a well-formed diagram."""
    lines = source.splitlines()
    first = next((i for i, text in enumerate(lines) if text.strip() and not text.strip().startswith("%%")), None)
    if first is None:
        raise MermaidError(1, "the diagram is empty")
    header = lines[first].strip()
    if header.split()[0] in OTHER_HEADERS:
        return
    if header.split()[0] in ("graph", "flowchart") and not FLOWCHART_HEADER.match(header):
        raise MermaidError(first + 1, f"{header!r}: the direction must be one of TB, TD, BT, RL, LR")
    if not FLOWCHART_HEADER.match(header):
        raise MermaidError(first + 1, f"unknown diagram type {header.split()[0]!r}")
    depth = 0
    for number, raw in enumerate(lines[first + 1 :], start=first + 2):
        for statement in raw.split(";"):
            text = statement.strip()
            if not text or text.startswith("%%"):
                continue
            if text.startswith("subgraph"):
                depth += 1
                continue
            if text == "end":
                depth -= 1
                if depth < 0:
                    raise MermaidError(number, "`end` without a `subgraph`")
                continue
            if STYLE_STATEMENT.match(text):
                continue
            _check_chain(text, number)
    if depth:
        raise MermaidError(len(lines), "a `subgraph` is never closed with `end`")


def _check_chain(text: str, number: int) -> None:
    pos = _node_group(text, 0, number)
    while pos < len(text):
        link = LINK.match(text, pos)
        if not link or link.end() == pos:
            raise MermaidError(number, f"expected a link such as --> at {text[pos:]!r}")
        pos = link.end()
        if pos >= len(text):
            raise MermaidError(number, "a link points to nothing")
        pos = _node_group(text, pos, number)


def _node_group(text: str, pos: int, number: int) -> int:
    pos = _node(text, pos, number)
    while (amp := re.match(r"\s*&\s*", text[pos:])) is not None:
        pos = _node(text, pos + amp.end(), number)
    return pos


def _node(text: str, pos: int, number: int) -> int:
    match = NODE_ID.match(text, pos)
    if not match:
        raise MermaidError(number, f"expected a node id at {text[pos:]!r}")
    pos = match.end()
    for opener, closer in SHAPES:
        if text.startswith(opener, pos):
            start = pos + len(opener)
            if text.startswith('"', start):
                end_quote = text.find('"', start + 1)
                if end_quote < 0:
                    raise MermaidError(number, "a quoted label is never closed")
                if not text.startswith(closer, end_quote + 1):
                    raise MermaidError(number, f"the label should end with {closer!r}")
                return end_quote + 1 + len(closer)
            end = text.find(closer, start)
            if end < 0:
                continue
            label = text[start:end]
            if not label.strip():
                raise MermaidError(number, "a node has an empty label")
            bad = FORBIDDEN_IN_LABEL.intersection(label)
            if bad:
                raise MermaidError(
                    number, f"the label {label!r} contains {''.join(sorted(bad))!r}: put the label in quotes"
                )
            return end + len(closer)
    if pos < len(text) and text[pos] in "[({>":
        raise MermaidError(number, f"a node shape opened at {text[pos:]!r} is never closed")
    return pos
