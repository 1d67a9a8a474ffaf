"""Content files: parsing and validation, `flask content check|load`, reloads that keep learners' records,
and the real course in content/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURE_COURSE, REAL_CONTENT, load, service_key
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from course.content import diagram_render, diagrams, mermaid
from course.content.markdown_check import UNRENDERED
from course.content.models import Chapter, Course, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.content.parser import read_content
from course.content.render import render_markdown
from course.extensions import db as _db
from course.progress import reading
from course.progress.completion import maybe_complete_course
from course.progress.models import LessonProgress, WorkbookAnswer
from course.progress.outline import build_outline
from course.progress.workbook import save_workbook_answer
from course.quiz import attempts, grading
from course.quiz.models import Attempt, AttemptAnswer

INTRO = "01-basics/01-intro"
TRAINING = "01-basics/02-training"
LAUNCH = "02-market/01-launch"


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in the course file `rel` (relative to the course folder)."""
    path = root / FIXTURE_COURSE / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, for "nothing changed" assertions."""
    with app.app_context():
        return {
            table.name: [tuple(row) for row in _db.session.execute(table.select().order_by(*table.primary_key))]
            for table in _db.metadata.sorted_tables
        }


# -- the good fixture ------------------------------------------------------------------------------
def test_the_fixture_course_parses_without_problems(content_dir):
    courses, problems, files = read_content(content_dir)
    assert problems == []
    assert files == 15
    (course,) = courses
    assert course.spec.id == FIXTURE_COURSE
    assert [m.spec.id for m in course.modules] == ["basics", "market"]
    assert [c.spec.id for m in course.modules for c in m.chapters] == ["intro", "training", "launch"]
    assert [lesson.spec.id for _, _, lesson in course.lessons()] == [
        "welcome",
        "models",
        "data",
        "tuning",
        "pricing",
        "growth",
    ]
    quiz_docs = [c.quiz for m in course.modules for c in m.chapters]
    assert [q.spec.id for q in quiz_docs] == ["intro-quiz", "training-quiz", "launch-quiz"]
    assert {q.type for doc in quiz_docs for q in doc.spec.questions} == {
        "single",
        "multiple",
        "true_false",
        "short_text",
    }
    welcome = next(lesson for _, _, lesson in course.lessons() if lesson.spec.id == "welcome")
    assert welcome.body.startswith("Welcome to the course.")
    assert [w.id for w in welcome.spec.workbook] == ["wb-goal"]


def test_order_comes_from_names_and_identity_from_ids(content_dir):
    base = content_dir / FIXTURE_COURSE / INTRO
    (base / "01-welcome.md").rename(base / "03-welcome.md")
    courses, problems, _ = read_content(content_dir)
    assert problems == []
    assert [lesson.spec.id for _, _, lesson in courses[0].lessons()][:2] == ["models", "welcome"]


# -- broken fixtures: each problem names its file and line ----------------------------------------------
Q1 = f"{INTRO}/quiz.yaml"
BROKEN = {
    "bad-yaml": (Q1, "title: Chapter 1 quiz", "title: Chapter 1 quiz: part: two", f"{Q1}:2:", "invalid YAML"),
    "missing-question-id": (
        Q1,
        "  - id: intro-q2\n    type: multiple",
        "  - type: multiple",
        f"{Q1}:15:",
        "`questions[1].id` is required",
    ),
    "missing-lesson-id": (f"{INTRO}/02-models.md", "id: models\n", "", f"{INTRO}/02-models.md:2:", "`id` is required"),
    "duplicate-lesson-id": (
        f"{TRAINING}/01-data.md",
        "id: data",
        "id: welcome",
        f"{TRAINING}/01-data.md:2:",
        f"lesson id `welcome` is already used at content/{FIXTURE_COURSE}/{INTRO}/01-welcome.md:2",
    ),
    "single-with-two-correct": (
        Q1,
        "{id: b, text: Its colour, correct: false}",
        "{id: b, text: Its colour, correct: true}",
        f"{Q1}:10:",
        "question intro-q1: a single-choice question needs exactly one correct",
    ),
    "short-text-without-accepted": (
        Q1,
        "    accepted: [fine-tuning, 微调]\n",
        "",
        f"{Q1}:28:",
        "question intro-q4: a short_text question needs at least one accepted",
    ),
    "unknown-lesson-reference": (
        Q1,
        "lesson: welcome",
        "lesson: no-such-lesson",
        f"{Q1}:9:",
        "question intro-q1: no lesson has the id `no-such-lesson`",
    ),
    "broken-mermaid": (
        f"{INTRO}/01-welcome.md",
        "B --> C[Scale]",
        "B --> C[Scale",
        f"{INTRO}/01-welcome.md:18:",
        "mermaid diagram: a node shape opened at '[Scale' is never closed",
    ),
    "unclosed-code-fence": (
        f"{INTRO}/01-welcome.md",
        "    B --> C[Scale]\n```\n",
        "    B --> C[Scale]\n",
        f"{INTRO}/01-welcome.md:15:",
        "this code block is never closed",
    ),
    "stray-token": (
        f"{LAUNCH}/02-growth.md",
        "Grow one market at a time.",
        "Grow one market at a time.<|im_end|>",
        f"{LAUNCH}/02-growth.md:6:",
        "stray token '<|im_end|>'",
    ),
    "unknown-field": (
        Q1,
        "    prompt: Large models need no compute.\n",
        "    prompt: Large models need no compute.\n    hint: think\n",
        f"{Q1}:26:",
        "unknown field `questions[2].hint`",
    ),
    "true-false-without-answer": (
        Q1,
        "    answer: false\n",
        "",
        f"{Q1}:23:",
        "question intro-q3: a true_false question needs `answer: true` or `answer: false`",
    ),
    "title-repeated-as-h1": (
        f"{TRAINING}/01-data.md",
        "Data is the fuel of a model.",
        "# 2.1 Data\n\nData is the fuel.",
        f"{TRAINING}/01-data.md:6:",
        "use `##` and below in a lesson",
    ),
    "front-matter-never-closed": (
        f"{TRAINING}/01-data.md",
        "title: 2.1 Data\n---\n",
        "title: 2.1 Data\n",
        f"{TRAINING}/01-data.md:1:",
        "the front matter is never closed",
    ),
    "bad-reveal-policy": (
        f"{TRAINING}/quiz.yaml",
        "reveal: after_pass",
        "reveal: sometimes",
        f"{TRAINING}/quiz.yaml:5:",
        "`reveal`: should be",
    ),
}


@pytest.fixture(params=sorted(BROKEN))
def broken(request, content_dir):
    rel, old, new, where, message = BROKEN[request.param]
    edit(content_dir, rel, old, new)
    return content_dir, f"content/{FIXTURE_COURSE}/{where}", message


def test_a_broken_file_is_reported_with_its_file_and_line(broken):
    root, where, message = broken
    _, problems, _ = read_content(root)
    reported = [str(p) for p in problems]
    assert any(line.startswith(where) and message in line for line in reported), reported


def test_content_check_exits_non_zero_and_prints_file_line_message(app, broken):
    root, where, message = broken
    result = app.test_cli_runner().invoke(args=["content", "check", str(root)])
    assert result.exit_code == 1
    assert any(line.startswith(where) and message in line for line in result.output.splitlines()), result.output
    assert "problem(s) in" in result.output


def test_loading_a_broken_directory_changes_nothing(app, loaded_course, broken):
    root, where, _message = broken
    # The broken copy also carries harmless edits that a successful load would apply.
    edit(root, f"{LAUNCH}/01-pricing.md", "Price by the value you create.", "Price by value, edited.")
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["content", "load", str(root)])
    assert result.exit_code == 1
    assert where in result.output
    assert "nothing was loaded" in result.output
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("rel", "old", "where"),
    [
        (f"{INTRO}/01-welcome.md", "  - Large models are defined by their scale.", f"{INTRO}/01-welcome.md:5:"),
        (Q1, "    explanation: EXPLAIN-INTRO-Q1 the welcome lesson says scale.", f"{Q1}:14:"),
    ],
    ids=["in-a-takeaway", "in-a-quiz-explanation"],
)
def test_a_stray_token_outside_a_lesson_body_is_reported(content_dir, rel, old, where):
    # Takeaways, workbook prompts and quiz texts reach learners as much as lesson bodies do.
    edit(content_dir, rel, old, old + "<|im_end|>")
    _, problems, _ = read_content(content_dir)
    reported = [str(p) for p in problems]
    expected = f"content/{FIXTURE_COURSE}/{where} stray token '<|im_end|>'"
    assert expected in reported, reported


def test_several_problems_are_all_reported_in_file_order(content_dir):
    edit(content_dir, Q1, "lesson: welcome", "lesson: nowhere")
    edit(content_dir, f"{LAUNCH}/02-growth.md", "Grow one market at a time.", "Grow.<|im_start|>")
    _, problems, _ = read_content(content_dir)
    assert [(p.path.rsplit("/", 1)[-1], p.line) for p in problems] == [("quiz.yaml", 9), ("02-growth.md", 6)]


MANY_PROBLEMS = Path(__file__).parent / "fixtures" / "many-problems"


def test_every_problem_in_a_file_is_reported_in_one_pass(content_dir):
    # A schema error used to hide the rest of its file (the other rules waited for it to be fixed), and a
    # diagram reported its first error only. Each problem in these two files is independent of the others.
    for name in ("quiz.yaml", "01-welcome.md"):
        shutil.copy(MANY_PROBLEMS / name, content_dir / FIXTURE_COURSE / INTRO / name)
    _, problems, _ = read_content(content_dir)
    reported = [(p.path.removeprefix(f"content/{FIXTURE_COURSE}/"), p.line, p.message) for p in problems]
    quiz, lesson = f"{INTRO}/quiz.yaml", f"{INTRO}/01-welcome.md"
    assert reported == [
        (lesson, 4, "unknown field `summary`"),
        (lesson, 7, "`takeaways[1]`: String should have at least 1 character"),
        (lesson, 15, "use `##` and below in a lesson: the title is the page heading"),
        (lesson, 17, "stray token '<|im_end|>'"),
        (lesson, 21, "mermaid diagram: a node shape opened at '[Deep learning' is never closed"),
        (lesson, 23, "mermaid diagram: a link points to nothing"),
        (quiz, 5, "unknown field `pas_mark`"),
        (quiz, 6, "`pass_mark`: Input should be less than or equal to 100"),
        (quiz, 12, "unknown field `questions[0].hint`"),
        (quiz, 16, "question intro-q1: option id 'b' repeats option 2"),
        (quiz, 21, "`questions[1].points`: Input should be a valid integer, unable to parse string as an integer"),
        (quiz, 22, "question intro-q2: a multiple-choice question needs at least one correct option"),
        (quiz, 26, "question intro-q3: a true_false question needs `answer: true` or `answer: false`"),
        (quiz, 29, "question intro-q3: no lesson has the id `nowhere`"),
        (quiz, 31, "`questions[3].explanation` is required"),
        (quiz, 31, f"question id `intro-q1` is already used at content/{FIXTURE_COURSE}/{quiz}:8"),
        (quiz, 34, "question intro-q1: accepted answer 'Fine-Tuning' repeats answer 1 once normalised"),
        # The lesson with schema errors still takes part in the rules across files: its workbook prompt id.
        (
            f"{LAUNCH}/01-pricing.md",
            5,
            f"workbook prompt id `wb-price` is already used at content/{FIXTURE_COURSE}/{lesson}:11",
        ),
    ]


def test_a_rule_that_needs_a_wrong_part_waits_for_it_to_be_fixed(content_dir):
    # An option that is not a mapping: reported once, without "needs two options" or "repeats option" guesses
    # about the options that could not be read; the next questions keep their lines.
    edit(content_dir, Q1, "      - {id: b, text: Its colour, correct: false}\n", "      - Its colour\n")
    edit(content_dir, Q1, "    answer: false\n", "    answer: perhaps\n")
    _, problems, _ = read_content(content_dir)
    assert [(p.line, p.message) for p in problems] == [
        (12, "`questions[0].options[1]`: Input should be a valid dictionary or instance of OptionSpec"),
        (26, "`questions[2].answer`: Input should be a valid boolean, unable to interpret input"),
    ]


def test_a_file_that_cannot_be_read_does_not_hide_the_files_below_it(content_dir):
    # chapter.yaml is not YAML: its lessons still take part in the rules across files. Another chapter's
    # question may point to one of them, and another lesson may not reuse one of their workbook prompt ids.
    edit(content_dir, f"{INTRO}/chapter.yaml", "id: intro", "id: [intro")
    edit(content_dir, f"{LAUNCH}/quiz.yaml", "lesson: pricing", "lesson: models")
    edit(content_dir, f"{LAUNCH}/01-pricing.md", "id: wb-price", "id: wb-goal")
    _, problems, _ = read_content(content_dir)
    welcome = f"content/{FIXTURE_COURSE}/{INTRO}/01-welcome.md"
    assert [(p.path.rsplit("/", 1)[-1], p.line, p.message.split(":")[0]) for p in problems] == [
        ("chapter.yaml", 2, "invalid YAML"),
        ("01-pricing.md", 5, f"workbook prompt id `wb-goal` is already used at {welcome}"),
    ]


def test_a_missing_content_directory_is_a_problem(tmp_path):
    courses, problems, files = read_content(tmp_path / "nowhere")
    assert courses == [] and files == 0
    assert [p.message for p in problems] == ["no such content directory"]


# -- mermaid and markdown ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        "graph TD\n    A[Start] --> B[End]",
        "flowchart LR\n  A --> B & C\n  subgraph S\n    C -->|yes| D((Done))\n  end\n  style A fill:#f9f",
        "sequenceDiagram\n  Alice->>Bob: hi",
        'graph TD\n  A["Label (with) brackets"] --> B',
    ],
)
def test_valid_diagrams_pass_the_mermaid_check(source):
    mermaid.check(source)


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("", 1),
        ("graph XY\n  A --> B", 1),
        ("pie-chart\n  A", 1),
        ("graph TD\n  A --> B\n  B -->", 3),
        ("graph TD\n  A[Label (x)] --> B", 2),
        ("graph TD\n  subgraph S\n  A --> B", 3),
        ("graph TD\n  A --> B\n  end", 3),
    ],
)
def test_broken_diagrams_are_reported_at_their_line(source, line):
    with pytest.raises(mermaid.MermaidError) as info:
        mermaid.check(source)
    assert info.value.line == line


def test_markdown_shows_a_diagram_not_rendered_as_its_source_and_strips_raw_html(tmp_path, monkeypatch):
    monkeypatch.setattr(diagrams, "DEFAULT_DIR", tmp_path)  # no rendered diagrams
    html = render_markdown(
        "Intro <script>alert(1)</script>\n\n```mermaid\ngraph TD\n  A --> B\n```\n\n[x](javascript:alert(1))\n\n"
        "![an image](https://example.com/x.png)"
    )
    assert (
        '<figure class="diagram"><pre class="diagram-source"><code>graph TD\n  A --&gt; B\n</code></pre></figure>'
        in html
    )
    assert "<script" not in html
    assert 'href="javascript' not in html
    assert "<img" not in html and "<picture" not in html  # an author's image stays out: only rendered diagrams


def test_a_rendered_diagram_is_a_picture_light_and_dark_with_its_source_below(tmp_path, monkeypatch):
    source = "graph TD\n  A[Idea] --> B[Product]\n"
    for theme, width in (("light", 120.5), ("dark", 120.5)):
        svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="121" height="80" viewBox="0 0 {width} 80"></svg>'
        (tmp_path / diagrams.file_name(source, theme)).write_text(svg)
    monkeypatch.setattr(diagrams, "DEFAULT_DIR", tmp_path)
    html = render_markdown(f"Before.\n\n```mermaid\n{source}```\n\nAfter <b>x</b>.")
    light, dark = diagrams.file_name(source, "light"), diagrams.file_name(source, "dark")
    assert (
        f'<figure class="diagram"><picture><source srcset="/static/diagrams/{dark}" '
        'media="screen and (prefers-color-scheme: dark)">'  # on paper: the light one
        f'<img class="diagram-image" src="/static/diagrams/{light}" alt="Idea → Product" width="120" height="80" '
        'decoding="async"></picture><details><summary>Diagram source (text)</summary>'
        '<pre class="diagram-source"><code>graph TD\n  A[Idea] --&gt; B[Product]\n</code></pre></details></figure>'
    ) in html
    assert html.startswith("<p>Before.</p>") and "After &lt;b&gt;x&lt;/b&gt;." in html
    assert light != dark and len(light) == len("0123456789abcdef0123.svg")
    # The name is of the theme and the source: another diagram, another file.
    assert diagrams.file_name(source + "  B --> C\n", "light") != light


def test_an_announcement_shows_a_diagram_as_code_even_when_its_pictures_exist(tmp_path, monkeypatch):
    """An announcement's HTML is shown as it is (no `diagrams` filter): no picture whose URL ignores the site's path."""
    from course.cohorts.announcements import Draft, preview_html

    source = "graph TD\n  A --> B\n"
    for theme in diagrams.THEMES:
        svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="8" viewBox="0 0 10 8"></svg>'
        (tmp_path / diagrams.file_name(source, theme)).write_text(svg)
    monkeypatch.setattr(diagrams, "DEFAULT_DIR", tmp_path)
    assert "<picture>" in render_markdown(f"```mermaid\n{source}```\n")  # a lesson's
    html = str(preview_html(Draft("Plan", f"Our plan:\n\n```mermaid\n{source}```\n")))
    assert "<picture" not in html and "/static/diagrams/" not in html
    assert '<pre><code class="language-mermaid">graph TD\n  A --&gt; B\n</code></pre>' in html


def test_a_diagram_that_lost_its_place_in_the_html_is_an_error_not_an_empty_figure(monkeypatch):
    import nh3

    from course.content import render

    monkeypatch.setattr(nh3, "clean", lambda html, **_: html.replace(render.DIAGRAM_PLACE, "<figure></figure>"))
    with pytest.raises(RuntimeError, match="1 diagram"):
        render_markdown("```mermaid\ngraph TD\n  A --> B\n```\n")


def test_rendered_diagrams_are_never_rendered_again_under_the_same_name(app, tmp_path):
    """Their URLs are cached for a year: new bytes need a new name (a change of `diagrams.RENDERER`)."""
    app.config["DIAGRAMS_DIR"] = str(tmp_path)
    source = "graph TD\n  A --> B\n"
    for theme in diagrams.THEMES:
        (tmp_path / diagrams.file_name(source, theme)).write_text("<svg/>")
    report = diagram_render.render_all([source], tmp_path)  # no browser needed: nothing to render
    assert report.kept == 2 and not report.rendered
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["content", "diagrams", "--force"])
    assert result.exit_code == 2 and "--force" in result.output


def test_a_diagram_without_its_pictures_is_a_warning_that_says_how_to_render_it(app, content_dir, tmp_path):
    app.config["DIAGRAMS_DIR"] = str(tmp_path)  # nothing rendered there
    with app.app_context():
        courses, problems, _ = read_content(content_dir)
        result = app.test_cli_runner().invoke(args=["content", "check", str(content_dir)])
    assert not problems  # a warning: the course still loads, its diagrams shown as text
    warnings = [str(w) for course in courses for w in course.warnings]
    assert warnings == [
        f"content/{FIXTURE_COURSE}/{INTRO}/01-welcome.md:15: {UNRENDERED}",
        f"content/{FIXTURE_COURSE}/{TRAINING}/02-tuning.md:10: {UNRENDERED}",
    ]
    assert "make diagrams" in UNRENDERED
    assert result.exit_code == 0 and f"warning: {warnings[0]}" in result.output


def test_every_diagram_of_the_real_course_is_rendered_light_and_dark():
    """The rendered SVGs are committed with the content: `make diagrams` after changing one."""
    sources = diagram_render.mermaid_sources(REAL_CONTENT, skip=diagrams.DEFAULT_DIR)
    assert len(sources) >= 70
    present = {path.name for path in diagrams.DEFAULT_DIR.glob("*.svg")}
    missing = [s.splitlines()[0] for s in sources for t in diagrams.THEMES if diagrams.file_name(s, t) not in present]
    assert not missing, f"{len(missing)} diagram file(s) missing: run `make diagrams`"
    store = diagrams.Store(diagrams.DEFAULT_DIR)
    for source in sources:
        picture = store.picture(source)
        assert picture is not None and picture.width > 0 and picture.height > 0
        svg = (diagrams.DEFAULT_DIR / picture.light).read_text()
        assert svg.startswith("<svg") and "<script" not in svg and 'width="100%"' not in svg


def test_lesson_checks_see_the_blocks_the_renderer_sees(content_dir):
    # A title underlined with `===`; a diagram in a list item; in a longer fence, a `#` line and a shorter marker
    # are code, not a heading nor its end; a stray token is quoted in code but not in text; a fence never closed.
    body = (
        "Welcome\n=======\n\n"
        "1. A diagram in a list item:\n\n    ```mermaid\n    graph TD\n        A --> B[Open\n    ```\n\n"
        "````markdown\n# not a heading <|im_end|>\n```\n````\n\n"
        "Text with a stray token.<|endoftext|>\n\n    an indented code block <|im_end|>\n\n"
        "~~~\nthe end\n"
    )
    lesson = f"{INTRO}/01-welcome.md"
    text = (content_dir / FIXTURE_COURSE / lesson).read_text(encoding="utf-8")
    edit(content_dir, lesson, text[text.index("Welcome to the course.") :], body)
    _, problems, _ = read_content(content_dir)
    assert [(p.line, p.message) for p in problems] == [
        (11, "use `##` and below in a lesson: the title is the page heading"),
        (18, "mermaid diagram: a node shape opened at '[Open' is never closed"),
        (26, "stray token '<|endoftext|>'"),
        (30, "this code block is never closed"),
    ]


# -- `flask content load` ------------------------------------------------------------------------------
def test_content_check_of_the_fixture_course(app, content_dir):
    result = app.test_cli_runner().invoke(args=["content", "check", str(content_dir)])
    assert result.exit_code == 0, result.output
    assert f"{FIXTURE_COURSE}: 2 modules, 3 chapters, 6 lessons, 3 quizzes, 8 questions" in result.output
    assert "ok: 15 files, no problems" in result.output


def plan_line(output: str, kind: str) -> str:
    """The plan's summary line for `kind` (e.g. "lessons"), without the padding."""
    for line in output.splitlines():
        if line.startswith(f"{kind}:"):
            return " ".join(line.split())
    raise AssertionError(f"no `{kind}:` line in\n{output}")


def test_load_prints_the_plan_and_a_second_load_prints_no_changes(app, content_dir):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["content", "load", str(content_dir)])
    assert first.exit_code == 0, first.output
    assert plan_line(first.output, "courses") == "courses: added 1"
    assert plan_line(first.output, "modules") == "modules: added 2"
    assert plan_line(first.output, "chapters") == "chapters: added 3"
    assert plan_line(first.output, "lessons") == "lessons: added 6"
    assert plan_line(first.output, "workbook prompts") == "workbook prompts: added 3"
    assert plan_line(first.output, "quizzes") == "quizzes: added 3"
    assert plan_line(first.output, "questions") == "questions: added 8"
    assert "no changes" not in first.output
    with app.app_context():
        assert _db.session.scalar(select(func.count(Lesson.id))) == 6
        assert _db.session.scalar(select(func.count(Question.id))) == 8

    second = runner.invoke(args=["content", "load", str(content_dir)])
    assert second.exit_code == 0, second.output
    assert "no changes" in second.output.splitlines()
    assert "added" not in second.output


def test_dry_run_prints_the_plan_and_writes_nothing(app, content_dir):
    result = app.test_cli_runner().invoke(args=["content", "load", str(content_dir), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert plan_line(result.output, "lessons") == "lessons: added 6"
    assert "dry run, nothing written" in result.output
    assert all(rows == [] for rows in snapshot(app).values())


def test_dry_run_of_an_edit_leaves_the_loaded_course_as_it_was(app, loaded_course):
    edit(loaded_course.root, f"{INTRO}/02-models.md", "Models come in many sizes.", "Models vary.")
    shutil.rmtree(loaded_course.root / FIXTURE_COURSE / "02-market")
    before = snapshot(app)
    result = app.test_cli_runner().invoke(args=["content", "load", str(loaded_course.root), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "changed: models" in result.output
    assert "archived: launch" in result.output
    assert snapshot(app) == before


# -- reloads keep learners' records --------------------------------------------------------------------
def record_everything(app, user_id: int) -> None:
    """The learner completes every lesson, answers every prompt and passes every quiz."""
    with app.test_request_context(method="POST"):  # grading needs a request; POST: it writes
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        for lesson in _db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)):
            reading.record_view(user_id, lesson)
            reading.mark_complete(user_id, lesson)
        for prompt in _db.session.scalars(select(WorkbookPrompt)):
            save_workbook_answer(user_id, prompt, f"my answer to {prompt.key}")
        for quiz in _db.session.scalars(select(Quiz)):
            form = MultiDict()
            for question in quiz.questions:
                if question.type == "short_text":
                    form.add(question.key, question.accepted[0])
                for option in question.options:
                    if option.correct:
                        form.add(question.key, option.key)
            submission = grading.read_submission(quiz, form)
            attempt, created = attempts.record(user_id, quiz, submission, service_key(user_id, quiz))
            assert created and attempt.passed
        maybe_complete_course(user_id, course)
        _db.session.commit()


def learner_records(app) -> dict[str, list[tuple]]:
    with app.app_context():
        s = _db.session
        return {
            "progress": [
                tuple(r)
                for r in s.execute(
                    select(
                        LessonProgress.id,
                        LessonProgress.user_id,
                        LessonProgress.lesson_id,
                        LessonProgress.completed_at,
                    ).order_by(LessonProgress.id)
                )
            ],
            "workbook": [
                tuple(r)
                for r in s.execute(
                    select(WorkbookAnswer.id, WorkbookAnswer.prompt_id, WorkbookAnswer.text).order_by(WorkbookAnswer.id)
                )
            ],
            "attempts": [
                tuple(r)
                for r in s.execute(
                    select(Attempt.id, Attempt.user_id, Attempt.quiz_id, Attempt.percent, Attempt.passed).order_by(
                        Attempt.id
                    )
                )
            ],
            "answers": [
                tuple(r)
                for r in s.execute(
                    select(AttemptAnswer.id, AttemptAnswer.question_id, AttemptAnswer.correct).order_by(
                        AttemptAnswer.id
                    )
                )
            ],
        }


def outline_for(app, user_id: int):
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == FIXTURE_COURSE))
        outline = build_outline(course, user_id)
        return {
            "course": outline.percent,
            "modules": {m.module.key: m.percent for m in outline.modules},
            "chapters": {c.chapter.key: c.percent for c in outline.chapters},
            "lessons": {c.chapter.key: [ls.lesson.key for ls in c.lessons] for c in outline.chapters},
            "all_done": outline.all_done,
        }


def test_a_reload_with_edits_keeps_every_learners_progress_and_attempts(app, loaded_course, make_user):
    root = loaded_course.root / FIXTURE_COURSE
    first, second = make_user(), make_user()
    record_everything(app, first.id)
    record_everything(app, second.id)
    before = learner_records(app)
    assert len(before["progress"]) == 12 and len(before["attempts"]) == 6

    # Edit a text, swap two lessons, move a lesson to another chapter and remove one.
    edit(loaded_course.root, f"{INTRO}/01-welcome.md", "Welcome to the course.", "Welcome, founder.")
    (root / INTRO / "01-welcome.md").rename(root / INTRO / "03-welcome.md")
    (root / TRAINING / "01-data.md").rename(root / LAUNCH / "03-data.md")
    (root / LAUNCH / "02-growth.md").unlink()
    edit(loaded_course.root, f"{LAUNCH}/quiz.yaml", "    lesson: growth\n", "")
    result = app.test_cli_runner().invoke(args=["content", "load", str(loaded_course.root)])
    assert result.exit_code == 0, result.output
    assert "    archived: growth" in result.output
    changed = next(line for line in result.output.splitlines() if line.startswith("    changed:"))
    assert "welcome" in changed
    # Moved: the renamed lesson and the one in another chapter, not their siblings whose numbers shifted.
    assert "    moved: welcome, data" in result.output.splitlines()
    assert plan_line(result.output, "lessons") == "lessons: changed 1, moved 2, archived 1 (2 renumbered)"

    assert learner_records(app) == before  # nothing deleted, nothing rewritten
    with app.app_context():
        lessons = {row.key: row for row in _db.session.scalars(select(Lesson))}
        chapters = {row.id: row.key for row in _db.session.scalars(select(Chapter))}
        assert lessons["growth"].archived_at is not None
        assert chapters[lessons["data"].chapter_id] == "launch"
        assert lessons["welcome"].body_md.startswith("Welcome, founder.")
    outline = outline_for(app, first.id)
    assert outline["lessons"] == {
        "intro": ["models", "welcome"],
        "training": ["tuning"],
        "launch": ["pricing", "data"],
    }
    assert outline["course"] == 100 and outline["all_done"]
    assert set(outline["chapters"].values()) == {100}

    # The removed lesson comes back: restored, with its learners' records.
    shutil.copy(
        Path(__file__).parent / "fixtures" / "content" / FIXTURE_COURSE / LAUNCH / "02-growth.md",
        root / LAUNCH / "02-growth.md",
    )
    again = app.test_cli_runner().invoke(args=["content", "load", str(loaded_course.root)])
    assert again.exit_code == 0, again.output
    assert plan_line(again.output, "lessons") == "lessons: restored 1 (1 renumbered)"
    assert "    restored: growth" in again.output
    with app.app_context():
        growth = _db.session.scalar(select(Lesson).where(Lesson.key == "growth"))
        assert growth.archived_at is None
        kept = _db.session.scalar(select(func.count(LessonProgress.id)).where(LessonProgress.lesson_id == growth.id))
        assert kept == 2
    assert learner_records(app) == before
    assert outline_for(app, first.id)["chapters"]["launch"] == 100


def test_moving_a_lesson_file_is_a_move_not_a_change(app, loaded_course):
    root = loaded_course.root / FIXTURE_COURSE
    (root / TRAINING / "01-data.md").rename(root / LAUNCH / "03-data.md")
    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    lessons = result.plan.entries["lesson"]
    assert lessons["moved"] == ["data"]  # not "tuning", now first in its chapter because "data" left
    # The lesson's text and title did not change; only its place did.
    assert lessons.get("changed", []) == []


def test_the_plan_names_only_the_lessons_that_were_moved(app, loaded_course):
    # The issue: reordering one lesson by renaming its file and moving another to another chapter printed
    # "moved: models, welcome, data, tuning, growth" — every lesson whose position number changed.
    root = loaded_course.root / FIXTURE_COURSE
    (root / INTRO / "01-welcome.md").rename(root / INTRO / "03-welcome.md")
    (root / TRAINING / "01-data.md").rename(root / LAUNCH / "03-data.md")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["content", "load", str(loaded_course.root)])
    assert result.exit_code == 0, result.output
    assert plan_line(result.output, "lessons") == "lessons: moved 2 (2 renumbered)"
    assert "    moved: welcome, data" in result.output.splitlines()
    assert "changed" not in result.output
    with app.app_context():  # every position is stored, the renumbered ones too
        lessons = _db.session.execute(select(Lesson.key, Lesson.position, Lesson.source).order_by(Lesson.key)).all()
    assert [tuple(row) for row in lessons] == [
        ("data", 3, f"{LAUNCH}/03-data.md"),
        ("growth", 2, f"{LAUNCH}/02-growth.md"),
        ("models", 1, f"{INTRO}/02-models.md"),
        ("pricing", 1, f"{LAUNCH}/01-pricing.md"),
        ("tuning", 1, f"{TRAINING}/02-tuning.md"),
        ("welcome", 2, f"{INTRO}/03-welcome.md"),
    ]
    again = runner.invoke(args=["content", "load", str(loaded_course.root)])
    assert again.exit_code == 0, again.output
    assert "no changes" in again.output.splitlines()


def test_swapping_two_lessons_moves_one(app, loaded_course):
    base = loaded_course.root / FIXTURE_COURSE / INTRO
    (base / "01-welcome.md").rename(base / "02-welcome.md")
    (base / "02-models.md").rename(base / "01-models.md")
    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    # Either one is a minimal answer; the plan names the first of the old order, every time.
    assert dict(result.plan.entries["lesson"]) == {"moved": ["welcome"]}
    assert result.plan.count("lesson", "renumbered") == 1
    assert load(app, loaded_course.root).plan.lines() == ["no changes"]


def test_a_new_first_lesson_is_added_and_moves_nothing(app, loaded_course):
    base = loaded_course.root / FIXTURE_COURSE / INTRO
    (base / "00-new.md").write_text("---\nid: new\ntitle: 1.0 New\n---\n\nA new first lesson.\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["content", "load", str(loaded_course.root)])
    assert result.exit_code == 0, result.output
    assert plan_line(result.output, "lessons") == "lessons: added 1 (2 renumbered)"
    assert "moved" not in result.output
    assert load(app, loaded_course.root).plan.lines() == ["no changes"]


def test_renaming_a_lesson_file_in_place_is_counted_not_listed(app, loaded_course):
    base = loaded_course.root / FIXTURE_COURSE / INTRO
    (base / "02-models.md").rename(base / "02-model-sizes.md")
    result = load(app, loaded_course.root)
    assert result.plan.lines() == ["lessons:          (1 renamed)"]
    assert load(app, loaded_course.root).plan.lines() == ["no changes"]


def test_a_removed_lesson_archives_its_workbook_prompt_and_keeps_the_answers(app, loaded_course, make_user):
    user = make_user()
    record_everything(app, user.id)
    (loaded_course.root / FIXTURE_COURSE / LAUNCH / "01-pricing.md").unlink()
    edit(loaded_course.root, f"{LAUNCH}/quiz.yaml", "    lesson: pricing\n", "")
    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    assert result.plan.entries["workbook prompt"]["archived"] == ["wb-price"]
    with app.app_context():
        prompt = _db.session.scalar(select(WorkbookPrompt).where(WorkbookPrompt.key == "wb-price"))
        assert prompt.archived_at is not None
        answer = _db.session.scalar(select(WorkbookAnswer).where(WorkbookAnswer.prompt_id == prompt.id))
        assert answer.text == "my answer to wb-price"


def test_progress_never_exceeds_100_percent_after_edits(app, loaded_course, make_user):
    user = make_user()
    record_everything(app, user.id)
    root = loaded_course.root / FIXTURE_COURSE
    # Remove a whole chapter, and a lesson of another; what is left is complete, and no more than that.
    shutil.rmtree(root / TRAINING)
    (root / LAUNCH / "02-growth.md").unlink()
    edit(loaded_course.root, f"{LAUNCH}/quiz.yaml", "    lesson: growth\n", "")
    assert load(app, loaded_course.root).applied
    outline = outline_for(app, user.id)
    assert outline["chapters"] == {"intro": 100, "launch": 100}
    assert outline["modules"] == {"basics": 100, "market": 100}
    assert outline["course"] == 100

    # A new lesson appears: the learner is no longer done, and the numbers say so.
    new_lesson = root / LAUNCH / "03-retention.md"
    new_lesson.write_text("---\nid: retention\ntitle: 3.3 Retention\n---\n\nKeep your users.\n", encoding="utf-8")
    assert load(app, loaded_course.root).applied
    outline = outline_for(app, user.id)
    assert outline["chapters"]["launch"] == 67  # pricing done, retention not, quiz passed: 2 of 3 items
    assert outline["course"] < 100 and not outline["all_done"]
    assert all(0 <= p <= 100 for p in [*outline["chapters"].values(), *outline["modules"].values()])


def test_a_changed_question_keeps_old_attempts_graded_as_they_were(app, loaded_course, make_user):
    user = make_user()
    record_everything(app, user.id)
    edit(loaded_course.root, Q1, "      - {id: c, text: Its name, correct: false}\n", "")
    result = load(app, loaded_course.root)
    assert result.plan.entries["quiz"]["changed"] == ["intro-quiz"]
    with app.app_context():
        attempt = _db.session.scalar(select(Attempt).join(Quiz).where(Quiz.key == "intro-quiz"))
        assert attempt.passed and attempt.percent == 100
        option = _db.session.scalar(
            select(QuestionOption).where(QuestionOption.key == "c").join(Question).where(Question.key == "intro-q1")
        )
        assert option.archived_at is not None


def test_an_archived_option_is_named_with_its_question_in_the_plan(app, loaded_course):
    edit(loaded_course.root, Q1, "      - {id: c, text: Its name, correct: false}\n", "")
    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    # Labelled like the plan's other option entries ("intro-q1/c" when added or changed): a bare "c" does
    # not say which of the course's questions lost an option.
    assert result.plan.entries["option"]["archived"] == ["intro-q1/c"]


# -- the real course -----------------------------------------------------------------------------------
def test_the_real_course_loads_with_its_full_outline(real_course, db):
    s = db.session
    course = s.scalar(select(Course).where(Course.key == real_course.key))
    modules = s.scalars(select(Module).where(Module.course_id == course.id).order_by(Module.position)).all()
    assert [m.kind for m in modules] == ["standard", "standard", "standard", "reference"]
    standard = {m.id for m in modules if m.kind == "standard"}
    reference = {m.id for m in modules if m.kind == "reference"}
    chapters = s.scalars(select(Chapter).where(Chapter.course_id == course.id)).all()
    assert len(chapters) == 10
    assert sum(c.module_id in standard for c in chapters) == 9
    chapter_module = {c.id: c.module_id for c in chapters}
    lessons = s.scalars(select(Lesson).where(Lesson.course_id == course.id)).all()
    assert sum(chapter_module[lesson.chapter_id] in standard for lesson in lessons) == 36
    assert sum(chapter_module[lesson.chapter_id] in reference for lesson in lessons) == 4

    quiz_rows = s.scalars(select(Quiz).where(Quiz.course_id == course.id)).all()
    assert len(quiz_rows) == 9
    assert all(chapter_module[q.chapter_id] in standard for q in quiz_rows)  # the appendix has no quiz
    assert len({q.chapter_id for q in quiz_rows}) == 9
    questions = s.scalars(select(Question).where(Question.course_id == course.id)).all()
    assert len(questions) >= 54
    assert all(len(q.questions) >= 6 for q in quiz_rows)
    assert {q.type for q in questions} == {"single", "multiple", "true_false", "short_text"}
    assert all(q.explanation.strip() for q in questions)

    prompts = s.scalars(select(WorkbookPrompt).where(WorkbookPrompt.course_id == course.id)).all()
    assert len({p.lesson_id for p in prompts}) >= 20

    with_diagrams = [lesson for lesson in lessons if "```mermaid" in lesson.body_md]
    assert with_diagrams
    for lesson in with_diagrams:
        assert lesson.body_html.count('<img class="diagram-image"') == lesson.body_md.count("```mermaid"), lesson.key
    for lesson in lessons:
        assert "<|" not in lesson.body_md, lesson.key


def test_every_lesson_page_with_a_diagram_renders_it(app, real_course, client, learner):
    with app.app_context():
        keys = [lesson.key for lesson in _db.session.scalars(select(Lesson)) if "```mermaid" in lesson.body_md]
    for key in keys:
        page = client.get(f"/courses/{real_course.key}/lessons/{key}")
        assert page.status_code == 200, key
        html = page.get_data(as_text=True)
        assert '<img class="diagram-image" src="/static/diagrams/' in html, key
        assert "<script" not in html.split("<main", 1)[1], key  # no Mermaid: the pictures are files


def test_reloading_the_real_course_prints_no_changes(app, real_course):
    result = app.test_cli_runner().invoke(args=["content", "load", str(REAL_CONTENT)])
    assert result.exit_code == 0, result.output
    assert "no changes" in result.output.splitlines()


def test_content_check_passes_on_the_real_course(app):
    result = app.test_cli_runner().invoke(args=["content", "check"])
    assert result.exit_code == 0, result.output
    assert re.search(r"ai-founder-global: 4 modules, 10 chapters, 40 lessons, 9 quizzes, \d+ questions", result.output)
