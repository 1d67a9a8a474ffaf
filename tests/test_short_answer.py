"""Short answers graded as a person would (course/content/short_answer.py): one table of typed answers, in
Chinese and English, right and wrong; the content check on accepted answers; a quiz submitted through the site
with the lesson's own wording 微调（Fine-tuning）; and the item statistics' common typed answers."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from conftest import CHAPTER_LESSONS, FIXTURE_COURSE, complete_lessons, quiz_url
from dashboard_factories import add_learner, attempt, make_cohort
from sqlalchemy import select
from test_translations import COURSE, problems_of, write_course

from course.cohorts.models import Cohort
from course.content.models import Question
from course.content.parser import read_content
from course.content.question_types import QUESTION_TYPES
from course.content.short_answer import accepted_problems, matches, normalise
from course.dashboard.coursemap import load_course_map
from course.dashboard.quizstats import quiz_stats
from course.db_types import utcnow
from course.extensions import db
from course.quiz.models import AttemptAnswer

ZH = ["微调"]  # only the Chinese form accepted
EN = ["fine-tuning"]  # only the English form accepted
BOTH = ["fine-tuning", "微调"]

# (typed, accepted, right?, why)
CASES = [
    # -- exact and normalised forms
    ("微调", ZH, True, "the accepted answer itself"),
    ("微调。", ZH, True, "a trailing ideographic full stop"),
    ("微调！", ZH, True, "a trailing full-width exclamation mark"),
    ("微调、", ZH, True, "a trailing enumeration comma"),
    ("  微调，  ", ZH, True, "a full-width comma and spaces around"),
    ("　微调　", ZH, True, "ideographic spaces around"),
    ("“微调”", ZH, True, "Chinese quotation marks around"),
    ("「微调」。", ZH, True, "corner brackets, then a full stop"),
    ("Fine-Tuning", EN, True, "case"),
    ("FINE-TUNING.", EN, True, "upper case and a full stop"),
    ("ＦＩＮＥ－ＴＵＮＩＮＧ", EN, True, "full-width letters and hyphen"),
    ("fine-tuning!", EN, True, "a trailing exclamation mark"),
    ("fine-tuning．", EN, True, "a full-width full stop"),
    ('"fine-tuning"', EN, True, "ASCII quotes around"),
    ("(fine-tuning)", EN, True, "brackets around the whole answer"),
    ("GPT 4", ["GPT4"], False, "a space between two Latin/digit characters stays"),
    ("GPT 模型", ["GPT模型"], True, "a space between Latin and CJK"),
    ("模型 GPT", ["模型GPT"], True, "a space between CJK and Latin"),
    ("第 3 代", ["第3代"], True, "spaces between CJK and digits"),
    ("大 模型", ["大模型"], True, "a space between two CJK characters"),
    ("Ｇｐｔ－４ 模型", ["GPT-4模型"], True, "full-width, case and a CJK space together"),
    ("Self   Attention", ["self attention"], True, "inner runs of spaces collapse"),
    # -- a parenthetical alias
    ("微调（Fine-tuning）", ZH, True, "the lesson's wording, the Chinese form accepted"),
    ("微调（Fine-tuning）", BOTH, True, "the lesson's wording, with every language's forms (as graded)"),
    ("微调 (fine-tuning)", ZH, True, "ASCII brackets after a space"),
    ("微调（Fine-tuning）。", ZH, True, "the alias, then a full stop"),
    ("（Fine-tuning）微调", ZH, True, "the alias first"),
    ("fine-tuning (微调)", BOTH, True, "the Chinese form in brackets"),
    ("fine-tuning (微调)", ZH, False, "the accepted term only in the bracket: not the answer given"),
    ("Fine-tuning（微调）", EN, True, "full-width brackets after English"),
    # -- wrong answers stay wrong
    ("预训练", BOTH, False, "another term"),
    ("pre-training.", BOTH, False, "another term, with punctuation"),
    ("not fine-tuning", EN, False, "containing the answer is not enough"),
    ("fine-tuning and pre-training", EN, False, "containing the answer is not enough"),
    ("不是微调", ZH, False, "containing the answer is not enough (zh)"),
    ("微调不对", ZH, False, "containing the answer is not enough (zh, after)"),
    ("fine tuning", EN, False, "a space is not a hyphen"),
    ("finetuning", EN, False, "a missing hyphen"),
    ("fine, tuning", ["fine tuning"], False, "punctuation inside stays"),
    ("微调(a)(b)", ZH, False, "only one parenthetical group is set aside"),
    ("预训练（pre-training）", BOTH, False, "a wrong term with its own alias"),
    ("（微调）预训练（pre-training）", ZH, False, "a group in the middle is not an alias"),
    ("微调（或预训练）", ZH, False, "a bracket in the same script is a hedge, not an alias"),
    ("not (fine-tuning)", EN, False, "an accepted term in brackets after other words of the same script"),
    ("预训练（Fine-tuning）", BOTH, False, "a wrong term with the right one as its bracket"),
    ("pre-training (微调)", BOTH, False, "a wrong term with the right one as its bracket (en)"),
    ("(微调)(x)", ZH, False, "two groups, the first around the right term"),
    ("", BOTH, False, "nothing typed"),
    ("。！", BOTH, False, "only punctuation"),
    ("()", BOTH, False, "only brackets"),
]


@pytest.mark.parametrize(("typed", "accepted", "right", "why"), CASES, ids=[case[3] for case in CASES])
def test_a_short_answer_is_graded_as_a_person_would(typed, accepted, right, why):
    assert matches(typed, accepted) is right, why


def test_the_table_covers_both_languages_and_both_outcomes():
    assert len(CASES) >= 24
    has_cjk = [any("\u4e00" <= c <= "\u9fff" for c in typed) for typed, *_ in CASES]
    outcomes = [right for _typed, _accepted, right, _why in CASES]
    assert sum(has_cjk) >= 10 and len(CASES) - sum(has_cjk) >= 10
    assert outcomes.count(False) >= 10


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("  ＡＢＣ，  ", "abc"),
        ("“微调”。", "微调"),
        ("GPT  模型", "gpt模型"),
        ("微调（Fine-tuning）", "微调(fine-tuning)"),  # the closing bracket does not enclose the whole answer
        ("((a))", "a"),
        ("(a) and (b)", "(a) and (b)"),  # the first bracket closes before the end: not unwrapped
        ("Straße", "strasse"),
    ],
)
def test_normalise(text, form):
    assert normalise(text) == form
    assert normalise(form) == form  # idempotent


def test_the_grader_uses_the_rule_with_the_accepted_answers_of_every_language():
    q = SimpleNamespace(type="short_text", options=[], accepted=["微调"], i18n={"en": {"accepted": ["fine-tuning"]}})
    kind = QUESTION_TYPES["short_text"]
    assert kind.is_correct(q, kind.read(q, ["Fine-tuning（微调）"])) is True
    assert kind.is_correct(q, kind.read(q, ["FINE-TUNING!"])) is True
    assert kind.is_correct(q, kind.read(q, ["not fine-tuning"])) is False


def test_accepted_answers_that_normalise_to_nothing_or_to_each_other_are_reported():
    problems = dict(accepted_problems(["微调", "微调。", "", "？！", "Fine-tuning", "ＦＩＮＥ－ＴＵＮＩＮＧ"]))
    assert set(problems) == {1, 2, 3, 5}
    assert "repeats answer 1" in problems[1]
    assert problems[2] == "an accepted answer is empty"
    assert "empty once normalised" in problems[3]
    assert "repeats answer 5" in problems[5]
    assert list(accepted_problems(["微调", "fine-tuning", "微调（Fine-tuning）"])) == []


def test_the_content_check_refuses_repeated_accepted_answers(content_dir):
    quiz = content_dir / FIXTURE_COURSE / "01-basics" / "01-intro" / "quiz.yaml"
    quiz.write_text(
        quiz.read_text().replace("accepted: [fine-tuning, 微调]", "accepted: [fine-tuning, 微调, 「微调」。]")
    )
    _, problems, _ = read_content(content_dir)
    assert [p.message for p in problems] == [
        "question intro-q4: accepted answer '「微调」。' repeats answer 2 once normalised"
    ]


def test_the_content_check_refuses_translated_accepted_answers_that_repeat_or_are_empty(tmp_path):
    quiz = COURSE["01-part/01-ch/quiz.en.yaml"].replace("[fine-tuning]", "[fine-tuning, Fine-tuning., '?']")
    found = problems_of(write_course(tmp_path, {**COURSE, "01-part/01-ch/quiz.en.yaml": quiz}))
    assert [problem.split("/bilingual/", 1)[1] for problem in found] == [
        "01-part/01-ch/quiz.en.yaml:12: question q-term: accepted answer '?' is empty once normalised",
        "01-part/01-ch/quiz.en.yaml:12: question q-term: accepted answer 'Fine-tuning.' repeats answer 1 once "
        "normalised",
    ]


# -- through the site ----------------------------------------------------------------------------------
class _Form(HTMLParser):
    """The quiz page's form as a browser would submit it: its submission key, the first option of each
    choice question (right or wrong: only the short answer is looked at), and `typed` in every text field."""

    def __init__(self, typed: str):
        super().__init__()
        self.typed, self.data = typed, {}

    def handle_starttag(self, tag, attrs):
        field = dict(attrs)
        if tag != "input" or not (field.get("name") == "submission_key" or field.get("name", "").startswith("intro-")):
            return  # only the quiz form's fields (the page has other forms)
        kind, name = field.get("type", "text"), field["name"]
        if kind == "text":
            self.data[name] = self.typed
        elif kind == "hidden" or name not in self.data:
            self.data[name] = field.get("value", "")


def _submit(client, typed: str) -> int:
    form = _Form(typed)
    form.feed(client.get(quiz_url("intro-quiz")).get_data(as_text=True))
    return client.post(quiz_url("intro-quiz"), data=form.data).status_code


def test_the_lessons_own_wording_is_right_in_a_submitted_quiz(app, loaded_course, client, learner):
    # intro-q4 accepts [fine-tuning, 微调]; lesson 2.4 of the guide writes 微调（Fine-tuning）.
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    assert _submit(client, "微调（Fine-tuning）") == 302
    assert _submit(client, "不是微调") == 302
    with app.app_context():
        rows = db.session.execute(
            select(AttemptAnswer.response, AttemptAnswer.correct)
            .join(Question, Question.id == AttemptAnswer.question_id)
            .where(Question.key == "intro-q4")
            .order_by(AttemptAnswer.id)
        ).all()
    assert [tuple(row) for row in rows] == [("微调（Fine-tuning）", True), ("不是微调", False)]


def test_item_statistics_count_answers_the_grader_sees_as_one_together(app, loaded_course):
    cohort_id = make_cohort(app, name="Typed answers")
    typed = ["微调", "微调。", "「微调」", "Pre-training.", "pre-training", "微调（Fine-tuning）"]
    for i, text in enumerate(typed):
        uid = add_learner(app, cohort_id, f"T{i}")
        attempt(
            app,
            uid,
            "intro-quiz",
            {"intro-q1": "a", "intro-q2": ["a", "b"], "intro-q3": "false", "intro-q4": text},
            utcnow() - timedelta(hours=i + 1),
        )
    with app.test_request_context(method="POST"):
        cohort = db.session.get(Cohort, cohort_id)
        q4 = quiz_stats(cohort, load_course_map(cohort).quiz_by_key("intro-quiz")).questions[3]
    counts = sorted((normalise(a.text), a.count, a.correct) for a in q4.answers)
    assert counts == [("pre-training", 2, False), ("微调", 3, True), ("微调(fine-tuning)", 1, True)]
