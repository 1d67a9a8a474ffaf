"""Content loads written in bulk (one kind of row at a time): every level linked to the right parent, rows
found again by their ids from the files, only the changed rows rewritten; and the YAML reader (one pass over the
parser's events) reading anchors, aliases, tags and merge keys as PyYAML does, with the same lines."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from conftest import FIXTURE_COURSE, ROOT, load
from sqlalchemy import select

from course.content.models import Chapter, Course, Lesson, Module, Question, QuestionOption, Quiz, WorkbookPrompt
from course.content.parser import read_content
from course.extensions import db as _db

INTRO_QUIZ = "01-basics/01-intro/quiz.yaml"


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / FIXTURE_COURSE / rel
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} should occur once in {rel}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rows(app, model: type) -> dict[int, dict]:
    """Every row of a content table with all its columns, by id."""
    table = model.__table__
    with app.app_context():
        return {row.id: dict(row._mapping) for row in _db.session.execute(table.select())}


def add_module(course: Path, n: int) -> None:
    """Module `new-n`: one chapter with a lesson (with a workbook prompt) and a quiz of two questions."""
    chapter = course / f"0{n}-new" / "01-chapter"
    chapter.mkdir(parents=True)
    (chapter.parent / "module.yaml").write_text(f"id: new-{n}\ntitle: New module {n}\n", encoding="utf-8")
    (chapter / "chapter.yaml").write_text(f"id: new-ch-{n}\ntitle: New chapter {n}\n", encoding="utf-8")
    (chapter / "01-lesson.md").write_text(
        f"---\nid: new-lesson-{n}\ntitle: {n}.1 Lesson\nworkbook:\n  - id: new-wb-{n}\n    prompt: Why?\n---\n\n"
        f"The text of lesson {n}.\n",
        encoding="utf-8",
    )
    (chapter / "quiz.yaml").write_text(
        f"id: new-quiz-{n}\ntitle: Quiz {n}\nquestions:\n"
        f"  - id: new-q{n}-1\n    type: single\n    prompt: Which?\n    explanation: This one.\n    options:\n"
        "      - {id: x, text: Wrong, correct: false}\n      - {id: y, text: Right, correct: true}\n"
        f"  - id: new-q{n}-2\n    type: true_false\n    prompt: True?\n    explanation: Yes.\n    answer: true\n",
        encoding="utf-8",
    )


def test_a_load_that_adds_three_modules_links_every_level_to_its_parent(app, loaded_course):
    course = loaded_course.root / FIXTURE_COURSE
    for n in (3, 4, 5):
        add_module(course, n)
    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    added = {kind: len(actions.get("added", [])) for kind, actions in result.plan.entries.items()}
    assert added == {
        "course": 0,
        "module": 3,
        "chapter": 3,
        "lesson": 3,
        "workbook prompt": 3,
        "quiz": 3,
        "question": 6,
        "option": 12,
    }
    with app.app_context():
        s = _db.session
        (course_id,) = s.scalars(select(Course.id)).all()
        key = {
            model: {row.id: row.key for row in s.scalars(select(model))}
            for model in (Module, Chapter, Lesson, Quiz, Question)
        }
        modules = s.scalars(select(Module).order_by(Module.position)).all()
        assert [(m.key, m.position) for m in modules] == [
            ("basics", 1),
            ("market", 2),
            ("new-3", 3),
            ("new-4", 4),
            ("new-5", 5),
        ]
        for n in (3, 4, 5):
            chapter = s.scalar(select(Chapter).where(Chapter.key == f"new-ch-{n}"))
            lesson = s.scalar(select(Lesson).where(Lesson.key == f"new-lesson-{n}"))
            prompt = s.scalar(select(WorkbookPrompt).where(WorkbookPrompt.key == f"new-wb-{n}"))
            quiz = s.scalar(select(Quiz).where(Quiz.key == f"new-quiz-{n}"))
            assert (key[Module][chapter.module_id], chapter.position) == (f"new-{n}", 1)
            assert (key[Chapter][lesson.chapter_id], lesson.position) == (f"new-ch-{n}", 1)
            assert lesson.source == f"0{n}-new/01-chapter/01-lesson.md"
            assert "<p>The text of lesson" in lesson.body_html
            assert (key[Lesson][prompt.lesson_id], prompt.position) == (f"new-lesson-{n}", 1)
            assert key[Chapter][quiz.chapter_id] == f"new-ch-{n}"
            questions = s.scalars(select(Question).where(Question.quiz_id == quiz.id).order_by(Question.position))
            assert [(q.key, q.position) for q in questions] == [(f"new-q{n}-1", 1), (f"new-q{n}-2", 2)]
            options = s.execute(
                select(Question.key, QuestionOption.key, QuestionOption.position, QuestionOption.correct)
                .join(Question, Question.id == QuestionOption.question_id)
                .where(Question.quiz_id == quiz.id)
                .order_by(Question.position, QuestionOption.position)
            ).all()
            assert [tuple(o) for o in options] == [
                (f"new-q{n}-1", "x", 1, False),
                (f"new-q{n}-1", "y", 2, True),
                (f"new-q{n}-2", "true", 1, True),
                (f"new-q{n}-2", "false", 2, False),
            ]
        for model in (Module, Chapter, Lesson, WorkbookPrompt, Quiz, Question):
            assert set(s.scalars(select(model.course_id))) == {course_id}

    again = load(app, loaded_course.root)
    assert again.plan.lines() == ["no changes"]


def test_reordering_questions_and_options_moves_the_same_rows(app, loaded_course):
    ids = {q["key"]: q["id"] for q in rows(app, Question).values()}
    option_ids = {(o["question_id"], o["key"]): o["id"] for o in rows(app, QuestionOption).values()}
    path = loaded_course.root / FIXTURE_COURSE / INTRO_QUIZ
    head, questions = path.read_text(encoding="utf-8").split("questions:\n")
    blocks = ["  - id: " + block for block in questions.split("  - id: ")[1:]]
    path.write_text(head + "questions:\n" + "".join(reversed(blocks)), encoding="utf-8")
    edit(
        loaded_course.root,
        INTRO_QUIZ,
        "      - {id: a, text: Its scale, correct: true}\n      - {id: b, text: Its colour, correct: false}\n",
        "      - {id: b, text: Its colour, correct: false}\n      - {id: a, text: Its scale, correct: true}\n",
    )

    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    entries = result.plan.entries
    # The fewest moves that give the new order: three of four reversed questions, one of two swapped options.
    assert entries["question"]["moved"] == ["intro-q3", "intro-q2", "intro-q1"]
    assert entries["option"]["moved"] == ["intro-q1/a"]
    for kind in ("question", "option"):
        assert set(entries[kind]) == {"moved"}, entries[kind]
        assert result.plan.count(kind, "renumbered") == 1  # intro-q4 and intro-q1/b: not moved, renumbered
    questions = {q["key"]: q for q in rows(app, Question).values()}
    assert {key: q["id"] for key, q in questions.items()} == ids
    assert [questions[f"intro-q{i}"]["position"] for i in (4, 3, 2, 1)] == [1, 2, 3, 4]
    options = {(o["question_id"], o["key"]): o for o in rows(app, QuestionOption).values()}
    assert {k: o["id"] for k, o in options.items()} == option_ids
    q1 = ids["intro-q1"]
    assert [options[(q1, k)]["position"] for k in ("b", "a", "c")] == [1, 2, 3]


def test_a_load_that_changes_one_option_rewrites_only_that_row(app, loaded_course):
    before = {model: rows(app, model) for model in (Module, Chapter, Lesson, WorkbookPrompt, Quiz, Question)}
    options_before = rows(app, QuestionOption)
    edit(loaded_course.root, INTRO_QUIZ, "{id: b, text: Its colour, correct: false}", "{id: b, text: Its hue}")

    result = load(app, loaded_course.root)
    assert result.applied, result.problems
    assert result.plan.entries["option"] == {"changed": ["intro-q1/b"]}

    options_after = rows(app, QuestionOption)
    changed = [i for i in options_after if options_after[i] != options_before[i]]
    assert len(changed) == 1 and options_after.keys() == options_before.keys()
    assert options_after[changed[0]] == {**options_before[changed[0]], "text": "Its hue"}
    for model, table_rows in before.items():
        after = rows(app, model)
        if model is Quiz:  # the quiz's version is the digest of its file
            for row in (*after.values(), *table_rows.values()):
                row.pop("version")
        assert after == table_rows, model.__name__


def test_an_archived_question_keeps_its_options_and_comes_back_with_them(app, loaded_course):
    path = loaded_course.root / FIXTURE_COURSE / INTRO_QUIZ
    original = path.read_text(encoding="utf-8")
    head, questions = original.split("questions:\n")
    blocks = ["  - id: " + block for block in questions.split("  - id: ")[1:]]
    path.write_text(head + "questions:\n" + "".join(b for b in blocks if not b.startswith("  - id: intro-q2")))
    options_before = rows(app, QuestionOption)

    removed = load(app, loaded_course.root)
    assert removed.plan.entries["question"]["archived"] == ["intro-q2"]
    assert "option" not in {kind for kind, actions in removed.plan.entries.items() if actions}
    assert rows(app, QuestionOption) == options_before  # its options stay as they were, not archived

    path.write_text(original, encoding="utf-8")
    back = load(app, loaded_course.root)
    assert back.plan.entries["question"]["restored"] == ["intro-q2"]
    assert rows(app, QuestionOption) == options_before


def test_two_courses_with_the_same_ids_load_at_once_each_into_its_own_rows(app, content_dir):
    twin = content_dir / "twin-course"
    shutil.copytree(content_dir / FIXTURE_COURSE, twin)
    manifest = twin / "course.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("id: mini-course", "id: twin-course"))
    result = load(app, content_dir)
    assert result.applied, result.problems
    assert result.plan.count("question", "added") == 16
    with app.app_context():
        s = _db.session
        courses = dict(s.execute(select(Course.id, Course.key)).all())
        pairs = s.execute(
            select(Question.course_id, Quiz.course_id, Chapter.course_id, Module.course_id)
            .join(Quiz, Quiz.id == Question.quiz_id)
            .join(Chapter, Chapter.id == Quiz.chapter_id)
            .join(Module, Module.id == Chapter.module_id)
        ).all()
        assert len(pairs) == 16 and all(len(set(p)) == 1 for p in pairs)
        per_course = s.execute(
            select(Question.course_id, QuestionOption.id).join(Question, Question.id == QuestionOption.question_id)
        ).all()
        assert Counter(courses[c] for c, _ in per_course) == {"mini-course": 14, "twin-course": 14}


# -- the YAML reader -------------------------------------------------------------------------------------
PLAIN = """id: intro-quiz
title: Chapter 1 quiz
pass_mark: 75
questions:
  - id: intro-q1
    type: single
    prompt: What defines a large model?
    options:
      - {id: a, text: Its scale, correct: true}
      - {id: b, text: Its colour, correct: false}
    explanation: Scale.
  - id: intro-q2
    type: true_false
    prompt: Large models need no compute.
    answer: false
    explanation: Scale.
"""
# The same quiz, line for line, with an anchor and an alias, a tag and a merge key.
UNUSUAL = """id: intro-quiz
title: !!str Chapter 1 quiz
pass_mark: 75
questions:
  - id: intro-q1
    type: single
    prompt: What defines a large model?
    options:
      - {id: a, text: Its scale, correct: true}
      - {id: b, text: Its colour, correct: false}
    explanation: &why Scale.
  - <<: {id: intro-q2}
    type: true_false
    prompt: Large models need no compute.
    answer: false
    explanation: *why
"""


@pytest.fixture
def quiz_file(content_dir):
    def write(text: str) -> object:
        """Write the intro quiz; its problems as reported, or the quiz as read when it has none."""
        (content_dir / FIXTURE_COURSE / INTRO_QUIZ).write_text(text, encoding="utf-8")
        courses, problems, _ = read_content(content_dir)
        quiz = courses[0].modules[0].chapters[0].quiz if courses and not problems else None
        return [str(p) for p in problems] if problems else quiz.spec

    return write


def test_anchors_aliases_tags_and_merge_keys_read_as_plain_yaml_does(quiz_file):
    assert quiz_file(PLAIN) == quiz_file(UNUSUAL)


@pytest.mark.parametrize("text", [PLAIN, UNUSUAL], ids=["plain", "unusual"])
def test_yaml_problems_have_the_same_lines_either_way(quiz_file, text):
    where = f"content/{FIXTURE_COURSE}/{INTRO_QUIZ}"
    broken = text.replace("pass_mark: 75\n", "pass_mark: 75\npass_mark: 80\n").replace(
        "prompt: Large models need no compute.", "prompt: Large models need no compute.<|im_end|>\n    hint: no"
    )
    assert quiz_file(broken) == [
        f"{where}:4: duplicate key `pass_mark`",
        f"{where}:15: stray token '<|im_end|>'",
        f"{where}:16: unknown field `questions[1].hint`",
    ]


def test_a_stray_token_written_with_an_escape_is_found(quiz_file):
    text = PLAIN.replace(
        "explanation: Scale.\n  - id: intro-q2", 'explanation: "Scale \\x3c|im_end|>"\n  - id: intro-q2'
    )
    assert quiz_file(text) == [f"content/{FIXTURE_COURSE}/{INTRO_QUIZ}:11: stray token '<|im_end|>'"]


# The second question takes the first one's fields (`<<: *first`) but those it has itself; of a list of merged
# mappings, the first one to have a field wins.
MERGED = """id: intro-quiz
title: Chapter 1 quiz
questions:
  - &first
    id: intro-q1
    type: single
    prompt: What defines a large model?
    options:
      - {id: a, text: Its scale, correct: true}
      - {id: b, text: Its colour, correct: false}
    explanation: Scale.
  - <<: [{prompt: What does a large model need?}, *first]
    id: intro-q2
"""
WRITTEN_OUT = """id: intro-quiz
title: Chapter 1 quiz
questions:
  - id: intro-q1
    type: single
    prompt: What defines a large model?
    options:
      - {id: a, text: Its scale, correct: true}
      - {id: b, text: Its colour, correct: false}
    explanation: Scale.
  - id: intro-q2
    type: single
    prompt: What does a large model need?
    options:
      - {id: a, text: Its scale, correct: true}
      - {id: b, text: Its colour, correct: false}
    explanation: Scale.
"""


def test_merge_keys_read_as_the_fields_written_out(quiz_file):
    assert quiz_file(MERGED) == quiz_file(WRITTEN_OUT)


def test_a_problem_in_merged_fields_is_reported_where_they_are_written(quiz_file):
    where = f"content/{FIXTURE_COURSE}/{INTRO_QUIZ}"
    broken = MERGED.replace("    explanation: Scale.\n", "    explanation: Scale.\n    hint: no\n")
    assert quiz_file(broken) == [
        f"{where}:12: unknown field `questions[0].hint`",
        f"{where}:12: unknown field `questions[1].hint`",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            PLAIN + "---\nid: other\n",
            "17: invalid YAML: expected a single document in the stream, but found another document",
        ),
        (
            PLAIN.replace("title: Chapter 1 quiz", "title: [Chapter"),
            "3: invalid YAML: did not find expected ',' or ']'",
        ),
        (
            PLAIN.replace("explanation: Scale.\n  - id: intro-q2", "explanation: *x\n  - id: intro-q2"),
            "11: invalid YAML: found undefined alias",
        ),
        (
            PLAIN.replace("title: Chapter 1 quiz", "title: !markdown Chapter 1 quiz"),
            "2: invalid YAML: could not determine a constructor for the tag '!markdown'",
        ),
        (
            PLAIN.replace("pass_mark: 75", "pass_mark: !!int seventy-five"),
            "3: invalid YAML: cannot read 'seventy-five' as tag:yaml.org,2002:int: "
            "invalid literal for int() with base 10: 'seventy-five'",
        ),
        (
            PLAIN.replace("  - id: intro-q2\n", "  - <<: intro-q2\n"),
            "12: invalid YAML: expected a mapping or list of mappings for merging, but found a scalar",
        ),
        (
            PLAIN.replace("explanation: Scale.\n  - id", "explanation: &x Scale.\n  - id").replace(
                "answer: false", "answer: &x false"
            ),
            "15: invalid YAML: found duplicate anchor 'x'",
        ),
    ],
    ids=[
        "two-documents",
        "unclosed-flow",
        "unknown-alias",
        "unknown-tag",
        "wrong-tagged",
        "merge-scalar",
        "anchor-twice",
    ],
)
def test_a_text_that_is_not_yaml_is_reported_at_its_line_alone(quiz_file, text, problem):
    assert quiz_file(text) == [f"content/{FIXTURE_COURSE}/{INTRO_QUIZ}:{problem}"]


def test_the_reader_gives_what_pyyaml_gives_for_every_content_file():
    """The YAML reader composes what it needs itself; for every YAML text of the real and fixture courses (and
    every lesson's front matter) its data is PyYAML's safe loader's."""
    import yaml

    from course.content.yaml_reader import YamlReader

    texts = []
    for root in (ROOT / "content", ROOT / "tests" / "fixtures"):
        for path in sorted(root.rglob("*")):
            if path.suffix == ".yaml":
                texts.append((path, path.read_text(encoding="utf-8")))
            elif path.suffix == ".md" and path.read_text(encoding="utf-8").startswith("---\n"):
                front = path.read_text(encoding="utf-8").split("---\n", 2)[1]
                texts.append((path, front))
    assert len(texts) > 100
    reader = YamlReader()
    for path, text in texts:
        read = reader.read(text)
        if not read.readable:  # a fixture that is not YAML on purpose: PyYAML refuses it too
            with pytest.raises(yaml.YAMLError):
                yaml.safe_load(text)
            continue
        assert read.data == yaml.safe_load(text), path
