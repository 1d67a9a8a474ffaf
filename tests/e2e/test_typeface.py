"""The Latin typeface in the browser: headings and text are set in Source Sans 3, served by the app, and the Chinese
in them in Noto Sans CJK SC; on a Chinese page the quotes and ellipses are Noto's full-width ones, on an
English page Source Sans 3's. Chromium says which font drew each glyph (DevTools' CSS.getPlatformFontsForNode)."""

from __future__ import annotations

import pytest
from conftest import REAL_COURSE, ROOT

FONT = ROOT / "course" / "static" / "vendor" / "fonts" / "source-sans-3-latin-wght-normal.woff2"

MIXED = "Founder Course 大模型创业“出海”……"
ADD_SAMPLE = """text => document.fonts.ready.then(() => {
    const sample = document.createElement('span');
    sample.id = 'type-sample';
    sample.textContent = text;
    document.querySelector('h1').append(' ', sample);
    return document.fonts.ready;
}).then(() => getComputedStyle(document.querySelector('h1')).fontFamily)"""


def fonts_of(page, selector: str) -> dict[str, int]:
    """Which fonts drew the element's text: family → glyph count."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    text = cdp.send("DOM.describeNode", {"nodeId": node, "depth": 1})["node"]["children"][0]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": text.get("nodeId") or node})["fonts"]
    cdp.detach()
    return {font["familyName"]: font["glyphCount"] for font in fonts}


def test_headings_pair_source_sans_3_with_noto_sans_cjk(new_context, screenshot) -> None:
    if not FONT.is_file():
        pytest.skip(f"the typeface is not installed at {FONT.relative_to(ROOT)}: run `make setup` (needs npm)")
    looks = {}
    for locale in ("en-US", "zh-CN"):
        page = new_context(locale=locale).new_page()
        page.goto(f"/courses/{REAL_COURSE}")
        family = page.evaluate(ADD_SAMPLE, MIXED)
        looks[locale] = (family, fonts_of(page, "#type-sample"))
        loaded = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        screenshot(page, f"typeface-{locale}", full_page=False)
        assert any("Source Sans 3" in name for name in loaded), (locale, loaded)

    english_family, english = looks["en-US"]
    chinese_family, chinese = looks["zh-CN"]
    assert english_family.startswith('"Source Sans 3",'), english_family
    assert chinese_family.startswith('"Source Sans 3 Han", "Noto Sans CJK SC"'), chinese_family
    letters = sum(c.isascii() and c.isalpha() for c in MIXED)  # 13; a space may be counted with them or not
    han = sum(not c.isascii() for c in MIXED)  # the Han characters, the two quotes and the two ellipses: 11
    punctuation = sum(c in "“”…" for c in MIXED)  # 4
    for locale, fonts in (("zh-CN", chinese), ("en-US", english)):
        # Chromium names the web font by its file's own name table ("Source Sans 3 …"), not the @font-face family.
        source = sum(count for name, count in fonts.items() if name.startswith("Source Sans 3"))
        noto = fonts.get("Noto Sans CJK SC", 0)
        assert set(fonts) <= {name for name in fonts if name.startswith("Source Sans 3")} | {"Noto Sans CJK SC"}, fonts
        if locale == "zh-CN":
            assert letters <= source <= letters + 2 and noto == han, (locale, fonts)
        else:
            assert letters + punctuation <= source <= letters + punctuation + 2, (locale, fonts)
            assert noto == han - punctuation, (locale, fonts)
