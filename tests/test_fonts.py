"""The Latin typeface (issue #12): Source Sans 3, installed from npm by `make setup` and served by the app (no CDN),
one woff2 file (Latin subset, variable weight) with its licence beside it, declared with `font-display: swap`, and
font stacks that fall back to Noto Sans CJK and the systems' CJK fonts; on Chinese pages the punctuation Chinese
shares with English comes from the CJK font."""

from __future__ import annotations

import re
import shutil
from urllib.parse import urljoin

import pytest
from conftest import ROOT

CSS = "/static/css/app.css"
FACES = re.compile(r"@font-face\s*\{([^}]*)\}")
CJK = ("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei")


def stylesheet(client) -> str:
    with client.get(CSS) as response:  # closed: a static file's response holds the file open
        assert response.status_code == 200
        return response.get_data(as_text=True)


def faces(css: str) -> dict[str, str]:
    """Each @font-face's family → its declarations."""
    found = {}
    for body in FACES.findall(css):
        family = re.search(r'font-family:\s*"([^"]+)"', body).group(1)
        found[family] = body
    return found


def code_points(face: str) -> set[int]:
    ranges = re.search(r"unicode-range:([^;]+);", face).group(1)
    points: set[int] = set()
    for part in ranges.split(","):
        first, _, last = part.strip().removeprefix("U+").partition("-")
        points.update(range(int(first, 16), int(last or first, 16) + 1))
    return points


def stack(declaration: str) -> list[str]:
    return [name.strip().strip('"') for name in declaration.split(",")]


def test_the_stylesheet_declares_the_typeface_and_cjk_fallbacks(client):
    css = stylesheet(client)
    declared = faces(css)
    assert set(declared) >= {"Source Sans 3", "Source Sans 3 Han"}
    for family in ("Source Sans 3", "Source Sans 3 Han"):
        face = declared[family]
        assert "font-display: swap" in face, family
        assert "font-weight: 200 900" in face, family  # one variable file: every weight the pages use
        assert re.search(r'src: url\("\.\./vendor/fonts/[\w-]+latin[\w-]*\.woff2"\) format\("woff2"\)', face)
        assert "http" not in face  # served by the app, never a CDN

    latin, han = code_points(declared["Source Sans 3"]), code_points(declared["Source Sans 3 Han"])
    assert {ord(c) for c in "Aa0,.;:!?()“”‘’—…·é"} <= latin
    assert {ord(c) for c in "Aa0,.;:!?()é"} <= han
    assert not {ord(c) for c in "“”‘’—…·"} & han  # Chinese quotes, dashes and ellipses stay full-width
    assert not {ord(c) for c in "中文，。（）"} & (latin | han)

    english = stack(re.search(r":root \{[^}]*--font:([^;]+);", css).group(1))
    chinese = stack(re.search(r"html:lang\(zh\) \{ --font:([^;]+);", css).group(1))
    assert english[0] == "Source Sans 3" and english[-1] == "sans-serif"
    assert chinese[0] == "Source Sans 3 Han" and chinese[1] == "Noto Sans CJK SC" and chinese[-1] == "sans-serif"
    for fonts in (english, chinese):
        assert set(CJK) <= set(fonts)
    assert re.search(r"body \{[^}]*font-family: var\(--font\)", css)  # headings and text alike


def test_the_font_and_its_licence_are_served_by_the_app(client):
    css = stylesheet(client)
    urls = {re.search(r'src: url\("([^"]+)"\)', face).group(1) for face in faces(css).values()}
    assert len(urls) == 1  # both faces are the one file: downloaded once
    path = urljoin(CSS, urls.pop())
    font_file = ROOT / "course" / path.removeprefix("/")
    if not font_file.is_file():
        if shutil.which("npm") is None:
            pytest.skip("npm not found: `make setup` could not install the font (pages use the system's fonts)")
        pytest.fail(f"{font_file.relative_to(ROOT)} is missing: run `make setup`")
    with client.get(path) as response:
        body = response.get_data()
        assert response.status_code == 200 and response.mimetype == "font/woff2"
    assert body[:4] == b"wOF2" and 10_000 < len(body) < 60_000  # the Latin subset only
    assert sorted(p.name for p in font_file.parent.iterdir()) == ["OFL.txt", font_file.name]  # nothing else
    with client.get(urljoin(path, "OFL.txt")) as licence:
        assert licence.status_code == 200
        assert "SIL OPEN FONT LICENSE Version 1.1" in licence.get_data(as_text=True)
