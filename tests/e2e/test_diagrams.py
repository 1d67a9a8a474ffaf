"""The real course's diagrams are pictures rendered ahead of time: each is an <img> of an SVG file (light, or dark in a
dark theme) with a real size and a text alternative, its source below it in a <details>, in every lesson that has
one, and no page loads Mermaid."""

from __future__ import annotations

from conftest import REAL_COURSE
from sqlalchemy import select

from course.content.models import Chapter, Course, Lesson

from .actions import login

ALL_DRAWN = """() => {
    const sources = document.querySelectorAll('figure.diagram details pre.diagram-source').length;
    const images = [...document.querySelectorAll('figure.diagram picture img.diagram-image')];
    return sources > 0 && images.length === sources && images.every(img => img.complete && img.naturalWidth > 0);
}"""


def lessons_with_diagrams(site) -> list[tuple[str, str]]:
    """(chapter key, lesson key) of every lesson of the real course whose text has a diagram, in course order."""
    with site.session() as session:
        rows = session.execute(
            select(Chapter.key, Lesson.key, Lesson.body_html)
            .join(Chapter, Chapter.id == Lesson.chapter_id)
            .join(Course, Course.id == Lesson.course_id)
            .where(Course.key == REAL_COURSE, Lesson.archived_at.is_(None))
            .order_by(Chapter.module_id, Chapter.position, Lesson.position)
        ).all()
    return [(chapter, lesson) for chapter, lesson, html in rows if 'class="diagram-image"' in html]


def test_every_diagram_of_the_real_course_is_drawn_as_an_svg_image(site, new_context, screenshot) -> None:
    lessons = lessons_with_diagrams(site)
    assert len(lessons) >= 37, lessons
    chapters = {chapter for chapter, _lesson in lessons}
    assert len(chapters) >= 10, chapters  # nine chapters and the appendix

    page = new_context(locale="zh-CN").new_page()
    login(page, site.account())
    failed = []
    for n, (_chapter, lesson) in enumerate(lessons):
        page.goto(f"/courses/{REAL_COURSE}/lessons/{lesson}")
        try:
            page.wait_for_function(ALL_DRAWN, timeout=10_000)
        except Exception as exc:
            failed.append(f"{lesson}: {type(exc).__name__}")
            continue
        image = page.locator("img.diagram-image").first
        assert image.get_attribute("src").startswith("/static/diagrams/"), lesson
        assert not page.locator("script").count(), lesson  # no Mermaid, no script
        assert image.get_attribute("alt"), f"{lesson}: a diagram without a text alternative"
        assert image.is_visible(), lesson
        if n == 0:
            image.scroll_into_view_if_needed()
            screenshot(page, "03-lesson-with-diagram", full_page=False)
    assert not failed, failed

    # The English version of a lesson draws its diagram too.
    english = new_context(locale="en-US").new_page()
    login(english, site.account())
    english.goto(f"/courses/{REAL_COURSE}/lessons/{lessons[0][1]}")
    english.wait_for_function(ALL_DRAWN, timeout=10_000)
    assert english.locator("html").get_attribute("lang") == "en"
    english.locator("figure.diagram summary").click()  # the source, as text, for whoever wants it
    assert english.locator("figure.diagram pre.diagram-source").first.is_visible()


def test_a_dark_theme_shows_the_dark_picture(site, new_context) -> None:
    lesson = lessons_with_diagrams(site)[0][1]
    light, dark = (new_context(color_scheme=scheme).new_page() for scheme in ("light", "dark"))
    sources = []
    for page in (light, dark):
        login(page, site.account())
        page.goto(f"/courses/{REAL_COURSE}/lessons/{lesson}")
        page.wait_for_function(ALL_DRAWN, timeout=10_000)
        sources.append(page.locator("img.diagram-image").first.evaluate("img => img.currentSrc"))
    assert sources[0] != sources[1] and all("/static/diagrams/" in src for src in sources)
    assert dark.locator("picture source").first.get_attribute("srcset") in sources[1]
