"""A course in two languages: `*.en.md` lessons and `quiz.en.yaml` quizzes with the same ids, checked for
completeness, loaded into the rows' `i18n`, shown in the reader's language, graded in either."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from conftest import do_login, load, new_client, quiz_form

from course.content.parser import read_content

COURSE = {
    "course.yaml": """id: bilingual
title: 双语课程
language: zh-Hans
translations: [en]
i18n:
  en: {title: Bilingual course, summary: A course in two languages., closing: Well done.}
summary: 一门双语课程。
closing: 恭喜你。
""",
    "01-part/module.yaml": "id: part-one\ntitle: 第一部分\ni18n:\n  en: {title: Part one}\n",
    "01-part/01-ch/chapter.yaml": "id: ch-one\ntitle: 第一章\ni18n:\n  en: {title: Chapter one}\n",
    "01-part/01-ch/01-intro.md": """---
id: intro
title: 1.1 引言
takeaways: [规模决定能力。]
workbook:
  - {id: wb-plan, prompt: 你的计划是什么？}
---

大模型由规模定义。
""",
    "01-part/01-ch/01-intro.en.md": """---
id: intro
title: 1.1 Introduction
takeaways: [Scale decides capability.]
workbook:
  - {id: wb-plan, prompt: "What is your plan?"}
---

A large model is defined by its scale.
""",
    "01-part/01-ch/quiz.yaml": """id: ch-one-quiz
title: 第一章测验
questions:
  - id: q-scale
    type: single
    prompt: 什么定义了大模型？
    options:
      - {id: a, text: 规模, correct: true}
      - {id: b, text: 颜色}
    explanation: 见 1.1。
  - id: q-term
    type: short_text
    prompt: 把预训练模型用于具体任务的步骤叫什么？
    accepted: [微调]
    explanation: 见 1.1。
""",
    "01-part/01-ch/quiz.en.yaml": """id: ch-one-quiz
title: Chapter one quiz
questions:
  - id: q-scale
    prompt: What defines a large model?
    options:
      - {id: a, text: Its scale}
      - {id: b, text: Its colour}
    explanation: See 1.1.
  - id: q-term
    prompt: What is adapting a pretrained model to a task called?
    accepted: [fine-tuning]
    explanation: See 1.1.
""",
}


def write_course(root: Path, files: dict[str, str] = COURSE) -> Path:
    for rel, text in files.items():
        path = root / "bilingual" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def problems_of(root: Path) -> list[str]:
    return [str(p) for p in read_content(root)[1]]


def test_a_complete_bilingual_course_checks_clean(tmp_path):
    assert problems_of(write_course(tmp_path)) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ("01-part/01-ch/01-intro.en.md", None),
            "bilingual/01-part/01-ch/01-intro.md:1: no `en` translation: expected 01-intro.en.md",
        ),
        (("01-part/01-ch/quiz.en.yaml", None), "bilingual/01-part/01-ch/quiz.yaml:1: no `en` translation"),
        (
            ("01-part/module.yaml", "id: part-one\ntitle: 第一部分\n"),
            "bilingual/01-part/module.yaml:1: missing `i18n: en",
        ),
        (
            ("01-part/01-ch/01-intro.en.md", COURSE["01-part/01-ch/01-intro.en.md"].replace("wb-plan", "wb-other")),
            "bilingual/01-part/01-ch/01-intro.en.md:5: workbook prompt ids ['wb-other'] differ",
        ),
        (
            (
                "01-part/01-ch/quiz.en.yaml",
                COURSE["01-part/01-ch/quiz.en.yaml"].replace("{id: b, text: Its colour}", "{id: c, text: Its colour}"),
            ),
            "bilingual/01-part/01-ch/quiz.en.yaml:6: question q-scale: option ids must be ['a', 'b']",
        ),
        (
            (
                "01-part/01-ch/quiz.en.yaml",
                COURSE["01-part/01-ch/quiz.en.yaml"].replace("    accepted: [fine-tuning]\n", ""),
            ),
            "bilingual/01-part/01-ch/quiz.en.yaml:10: question q-term: list the answers accepted in `en`",
        ),
        (
            ("01-part/01-ch/01-intro.de.md", COURSE["01-part/01-ch/01-intro.en.md"]),
            "bilingual/01-part/01-ch/01-intro.de.md:1: `de` is not among the course's translations",
        ),
        (
            ("01-part/01-ch/02-ghost.en.md", COURSE["01-part/01-ch/01-intro.en.md"]),
            "bilingual/01-part/01-ch/02-ghost.en.md:1: a translation of `02-ghost.md`, which does not exist",
        ),
    ],
)
def test_missing_or_mismatched_translations_are_reported(tmp_path, change, expected):
    files = dict(COURSE)
    rel, text = change
    if text is None:
        files.pop(rel)
    else:
        files[rel] = text
    found = problems_of(write_course(tmp_path, files))
    assert any(expected in p for p in found), found


@pytest.fixture
def bilingual(app, tmp_path):
    result = load(app, write_course(tmp_path))
    assert result.applied, result.problems
    return result


def test_the_reader_gets_the_course_in_their_language(app, bilingual, make_user):
    user = make_user(email=f"{uuid.uuid4().hex[:6]}@example.com")
    english = new_client(app)  # asks for English
    chinese = app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    for client in (english, chinese):
        do_login(client, user.email)
    page = english.get("/courses/bilingual/lessons/intro").get_data(as_text=True)
    assert "1.1 Introduction" in page and "defined by its scale" in page and "What is your plan?" in page
    assert "Scale decides capability." in page and "大模型由规模定义" not in page
    page = chinese.get("/courses/bilingual/lessons/intro").get_data(as_text=True)
    assert "1.1 引言" in page and "大模型由规模定义" in page and "你的计划是什么？" in page
    english.post("/courses/bilingual/lessons/intro/complete")
    quiz = english.get("/courses/bilingual/quizzes/ch-one-quiz").get_data(as_text=True)
    assert "What defines a large model?" in quiz and "Its scale" in quiz and "规模" not in quiz


def test_progress_and_attempts_are_shared_across_languages(app, bilingual, make_user):
    user = make_user(email="both@example.com")
    english, chinese = new_client(app), app.test_client()
    chinese.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    for client in (english, chinese):
        do_login(client, user.email)
    english.post("/courses/bilingual/lessons/intro/complete")
    # an answer typed in English is right in either language
    answers = quiz_form(chinese, "ch-one-quiz", {"q-scale": "a", "q-term": "Fine-Tuning"}, course="bilingual")
    response = chinese.post("/courses/bilingual/quizzes/ch-one-quiz", data=answers)
    assert response.status_code == 302
    result = english.get(response.location).get_data(as_text=True)
    assert "100%" in result and "See 1.1." in result
    summary = chinese.get("/courses/bilingual/summary").get_data(as_text=True)
    assert "恭喜你。" in summary  # completed: the closing words in the reader's language


def test_the_real_course_is_complete_in_english(app, real_course):
    from sqlalchemy import select

    from course.content.models import Course, Lesson, Question, QuestionOption, WorkbookPrompt
    from course.extensions import db

    with app.app_context():
        course = db.session.scalar(select(Course).where(Course.key == real_course.key))
        assert course.i18n["en"]["title"] and course.i18n["en"]["closing"]
        lessons = db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)).all()
        assert len(lessons) == 40
        for lesson in lessons:
            english = {**lesson.i18n["en"], **lesson.i18n_body["en"]}
            assert english["title"] and english["body_html"], lesson.key
            assert len(english["takeaways"]) == len(lesson.takeaways), lesson.key
            assert english["body_html"].count('<pre class="mermaid"') == lesson.body_html.count(
                '<pre class="mermaid"'
            ), lesson.key
        for prompt in db.session.scalars(select(WorkbookPrompt).where(WorkbookPrompt.course_id == course.id)):
            assert prompt.i18n["en"]["prompt"], prompt.key
        for question in db.session.scalars(select(Question).where(Question.course_id == course.id)):
            assert question.i18n["en"]["prompt"] and question.i18n["en"]["explanation"], question.key
            if question.type == "short_text":
                assert question.i18n["en"]["accepted"], question.key
        options = db.session.scalars(
            select(QuestionOption)
            .join(Question)
            .where(Question.course_id == course.id, Question.type.in_(["single", "multiple"]))
        ).all()
        assert options and all(option.i18n["en"]["text"] for option in options)
