"""Rendering the content's Mermaid diagrams to SVG files (`flask content diagrams`): the npm package `mermaid`
(installed by `make diagrams` into .cache/npm) in Debian's Chromium, driven by Playwright. Run by a content author after
changing a diagram; the files are committed with the content, so no page ever loads Mermaid."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from course.content.diagrams import THEMES, file_name
from course.content.render import block_tokens, fence_language

ROOT = Path(__file__).resolve().parent.parent.parent
MERMAID_JS = ROOT / ".cache" / "npm" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
# Debian's Chromium as a root process in a container, quiet on the network: for every Chromium the project starts
# (this renderer, bench/browser.py, the browser tests).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# As the pictures are shown: in an <img>, where only the system's fonts exist; CJK-capable first.
FONTS = '"Noto Sans CJK SC", "DejaVu Sans", Arial, sans-serif'
MERMAID_THEMES = {"light": "default", "dark": "dark"}
SVG_ID = "d"


class RenderError(RuntimeError):
    pass


@dataclass
class Report:
    rendered: list[Path] = field(default_factory=list)
    kept: int = 0
    unused: list[Path] = field(default_factory=list)


def mermaid_sources(root: Path, skip: Path | None = None) -> list[str]:
    """Every distinct Mermaid block of the lessons under `root`, as the lesson renderer sees it."""
    sources: dict[str, None] = {}
    for path in sorted(root.rglob("*.md")):
        if skip is not None and skip in path.parents:
            continue
        for source in fence_sources(path.read_text(encoding="utf-8", errors="replace")):
            sources[source] = None
    return list(sources)


def fence_sources(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].strip() == "---":  # front matter, as the content reader strips it
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        lines = lines[end + 1 :]
    body = "\n".join(lines).strip("\n")
    return [t.content for t in block_tokens(body) if t.type == "fence" and fence_language(t) == "mermaid"]


def mermaid_config(theme: str) -> dict:
    return {
        "startOnLoad": False,
        "securityLevel": "strict",
        "deterministicIds": True,
        "theme": MERMAID_THEMES[theme],
        "htmlLabels": False,
        "themeVariables": {"fontFamily": FONTS},
        "flowchart": {"htmlLabels": False, "wrappingWidth": 260},
    }


VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([\d.]+) ([\d.]+)"')
TAG = re.compile(r"<[^<>]+>")
LONG_NUMBER = re.compile(r"-?\d+\.\d{3,}")


def _rounded(number: re.Match) -> str:
    """A coordinate to a hundredth of a pixel (Mermaid writes sixteen digits), without trailing zeros."""
    text = f"{float(number.group(0)):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def tidy(svg: str) -> str:
    """Mermaid's SVG as a file: a real width and height (from its viewBox: an <img> of `width="100%"` has no
    intrinsic size), no inline max-width, no comments, no blank runs between tags, the XML declaration's namespace."""
    match = VIEWBOX.search(svg)
    if match is None:
        raise RenderError("Mermaid gave an SVG without a viewBox")
    width, height = (f"{float(v):.0f}" for v in match.group(3, 4))
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = re.sub(r'^<svg([^>]*?) width="100%"', rf'<svg\1 width="{width}" height="{height}"', svg, count=1)
    svg = re.sub(r'^(<svg[^>]*?) style="max-width: [\d.]+px;"', r"\1", svg, count=1)
    svg = re.sub(r">\s+<", "><", svg)
    svg = TAG.sub(lambda tag: LONG_NUMBER.sub(_rounded, tag.group(0)), svg)  # coordinates, not the labels' text
    if 'xmlns="http://www.w3.org/2000/svg"' not in svg[:500]:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    return svg.strip() + "\n"


def render_all(sources: Iterable[str], target: Path, say: Callable[[str], None] = lambda _: None) -> Report:
    """Write the light and dark SVG of every source into `target` that is not there yet. A file there is never
    rendered again: its URL is cached for a year, so its bytes must not change. To render every diagram again (other
    settings, another Mermaid), change `diagrams.RENDERER`: every file gets a new name."""
    sources = list(sources)
    report = Report()
    wanted = {(source, theme): target / file_name(source, theme) for source in sources for theme in THEMES}
    todo = {key: path for key, path in wanted.items() if not path.is_file()}
    report.kept = len(wanted) - len(todo)
    if target.is_dir():
        names = {path.name for path in wanted.values()}
        report.unused = sorted(p for p in target.glob("*.svg") if p.name not in names)
    if not todo:
        return report
    chromium = shutil.which("chromium")
    if chromium is None:
        raise RenderError("no Chromium on PATH: install Debian's package (apt-get install chromium)")
    if not MERMAID_JS.is_file():
        raise RenderError(
            f"Mermaid is not installed at {MERMAID_JS.relative_to(ROOT)}: run `make diagrams` (needs npm)"
        )
    from playwright.sync_api import sync_playwright  # a development tool: only the renderer needs it

    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><html><head><meta charset='utf-8'></head><body></body></html>")
            page.add_script_tag(path=str(MERMAID_JS))
            for theme in THEMES:
                page.evaluate("(config) => window.mermaid.initialize(config)", mermaid_config(theme))
                for (source, their_theme), path in todo.items():
                    if their_theme != theme:
                        continue
                    try:
                        svg = page.evaluate(
                            "async ([id, source]) => (await window.mermaid.render(id, source)).svg", [SVG_ID, source]
                        )
                    except Exception as exc:  # Playwright's Error: Mermaid could not read the diagram
                        first = source.strip().splitlines()[0] if source.strip() else ""
                        raise RenderError(f"Mermaid could not render the diagram that starts {first!r}: {exc}") from exc
                    path.write_text(tidy(svg), encoding="utf-8")
                    report.rendered.append(path)
                    say(f"rendered {path.name} ({theme}, {path.stat().st_size:,} bytes)")
        finally:
            browser.close()
    return report
