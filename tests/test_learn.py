"""The learner's journey through the site: register, read, write, take the quizzes, finish."""

from __future__ import annotations

import re
from html import unescape
from zoneinfo import ZoneInfo

from conftest import (
    CHAPTER_LESSONS,
    FIXTURE_COURSE,
    QUIZ_OF,
    RIGHT_ANSWERS,
    WRONG_ANSWERS,
    complete_lessons,
    do_login,
    lesson_url,
    load,
    new_client,
    quiz_url,
    submit_quiz,
)
from sqlalchemy import func, select

from course.extensions import db as _db
from course.progress.models import Completion, LessonProgress, WorkbookAnswer

OUTLINE = f"/courses/{FIXTURE_COURSE}"
SUMMARY = f"{OUTLINE}/summary"


def workbook_url(prompt: str) -> str:
    return f"{OUTLINE}/workbook/{prompt}"


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_whole_journey(app, loaded_course, client):
    # Register: the new account is logged in and lands on the catalogue.
    response = client.post(
        "/register",
        data={
            "name": "Ada Founder",
            "email": "Ada@Example.com",
            "password": "long enough pass",
            "confirm": "long enough pass",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses"
    catalogue = text_of(client.get("/courses"))
    assert "Mini Founder Course" in catalogue and "Ada Founder" in catalogue

    outline = text_of(client.get(OUTLINE))
    assert "0 of 9 items done" in outline
    assert re.search(rf'href="{lesson_url("welcome")}">\s*Start: 1.1 Welcome', outline)

    # Every lesson: read it, write in the workbook where there is one, mark it complete.
    for chapter, lessons in CHAPTER_LESSONS.items():
        for i, lesson in enumerate(lessons):
            page = client.get(lesson_url(lesson))
            assert page.status_code == 200, lesson
            if lesson == "welcome":
                body = text_of(page)
                assert "<h1>1.1 Welcome</h1>" in body
                assert '<pre class="diagram-source"><code>graph' in body  # the fixture's diagrams: not rendered
                assert "Large models are defined by their scale." in body  # a takeaway
                assert "What do you want to build?" in body  # the workbook prompt
                assert "Mark complete and continue" in body
                assert 'rel="next" href="/courses/mini-course/lessons/models"' in body

            done = client.post(f"{lesson_url(lesson)}/complete")
            assert done.status_code == 302
            if i + 1 < len(lessons):
                assert done.headers["Location"] == lesson_url(lessons[i + 1])
            else:  # the chapter is read: on to its quiz
                assert done.headers["Location"] == quiz_url(QUIZ_OF[chapter])

    saved = client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "A translation tool for exporters."})
    assert saved.status_code == 302
    assert saved.headers["Location"] == f"{lesson_url('welcome')}#wb-wb-goal"
    client.post(workbook_url("wb-price"), data={"wb-wb-price-answer": "Per seat, 20 dollars."})
    # Edit an answer: the new text replaces the old one.
    client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "A translation tool for SMEs that export."})
    page = text_of(client.get(lesson_url("welcome")))
    assert "A translation tool for SMEs that export." in page
    assert "A translation tool for exporters." not in page

    # The quizzes: fail once, then pass.
    for quiz in ("intro-quiz", "training-quiz"):
        failed = submit_quiz(client, quiz, WRONG_ANSWERS[quiz])
        assert failed.headers["Location"].endswith(f"{quiz_url(quiz)}/attempts/1")
        passed = submit_quiz(client, quiz, RIGHT_ANSWERS[quiz])
        assert passed.headers["Location"].endswith(f"{quiz_url(quiz)}/attempts/2")
    with app.app_context():
        assert _db.session.scalar(select(func.count(Completion.id))) == 0  # one quiz to go
    last = submit_quiz(client, "launch-quiz", RIGHT_ANSWERS["launch-quiz"])
    assert last.status_code == 302
    assert "Congratulations" in text_of(client.get(last.headers["Location"]))

    # The summary: best scores, attempts, the workbook gathered into a plan.
    summary = text_of(client.get(SUMMARY))
    assert "You completed Mini Founder Course" in summary
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', summary)
    assert rows == [
        ("Chapter 1 Introduction", "2 / 2", "100%", "2"),
        ("Chapter 2 Training", "2 / 2", "100%", "2"),
        ("Chapter 3 Launch", "2 / 2", "100%", "1"),
    ]
    assert "A translation tool for SMEs that export." in summary
    assert "Per seat, 20 dollars." in summary
    assert "Well done, founder." in summary  # the course's closing words
    code = re.search(r'href="http://localhost/verify/([\w-]+)"', summary).group(1)

    printable = client.get(f"{SUMMARY}/print")
    assert printable.status_code == 200
    assert "A translation tool for SMEs that export." in text_of(printable)
    assert f"/verify/{code}" in text_of(printable)

    # The public verification page, seen by anyone: name, course, date, scores — nothing private.
    with app.app_context():
        completion = _db.session.scalar(select(Completion))
        local = completion.completed_at.astimezone(ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]))  # the school's
        completed_on = f"{local:%B} {local.day}, {local.year}"
    anonymous = app.test_client()
    anonymous.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    verify = anonymous.get(f"/verify/{code}")
    assert verify.status_code == 200
    page = unescape(text_of(verify))
    assert "Ada Founder" in page
    assert "Mini Founder Course" in page
    assert completed_on in page
    assert re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', page) == [
        ("Chapter 1 quiz", "100%"),
        ("Chapter 2 quiz", "100%"),
        ("Chapter 3 quiz", "100%"),
    ]
    assert "ada@example.com" not in page.lower()
    assert "SMEs" not in page and "Per seat" not in page
    assert "What do you want to build?" not in page


def test_verification_codes_are_not_guessable(app, loaded_course, client):
    assert client.get("/verify/1").status_code == 404
    assert client.get("/verify/" + "x" * 200).status_code == 404


def test_a_bad_verification_code_gets_the_apps_page_and_a_way_to_try_another(app, loaded_course, client):
    response = client.get("/verify/not-a-code")
    assert response.status_code == 404
    page = text_of(response)
    assert 'class="site-header"' in page and "<h1>Completion not found</h1>" in page
    assert 'action="/verify"' in page and 'name="code" value="not-a-code"' in page  # as typed, to correct it

    # The form: a code, or the whole link pasted, leads to the code's page; nothing typed is said at the field.
    assert client.get("/verify").status_code == 200
    pasted = ("https://course.example.com/verify/AbC-123_x?utm=mail#top", "http://[bad/verify/AbC-123_x")  # not a URL
    for typed in ("  AbC-123_x ", "https://course.example.com/verify/AbC-123_x", "/verify/AbC-123_x/", *pasted):
        response = client.get("/verify", query_string={"code": typed})
        assert response.status_code == 302 and response.headers["Location"] == "/verify/AbC-123_x", typed
    empty = client.get("/verify", query_string={"code": "  "})
    assert empty.status_code == 400
    assert 'aria-invalid="true" aria-describedby="code-error"' in text_of(empty)
    assert "Enter the code from the verification link" in text_of(empty)


def test_the_printable_view_needs_a_completion(loaded_course, client, learner):
    assert client.get(f"{SUMMARY}/print").status_code == 404
    assert client.get(SUMMARY).status_code == 200


def test_the_outline_has_one_link_to_the_summary(loaded_course, client, learner):
    summary_link = f'href="{SUMMARY}"'
    complete_lessons(client, "welcome")
    assert text_of(client.get(OUTLINE)).count(summary_link) == 1  # "Your summary", beside "Continue"
    for lessons in CHAPTER_LESSONS.values():
        complete_lessons(client, *lessons)
    for quiz, answers in RIGHT_ANSWERS.items():
        submit_quiz(client, quiz, answers)
    outline = text_of(client.get(OUTLINE))
    assert outline.count(summary_link) == 1
    assert re.search(rf'class="button button-primary" {summary_link}>See your completion summary', outline)


# -- lessons ------------------------------------------------------------------------------------------------
def test_marking_a_lesson_complete_twice_makes_one_row(app, loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    client.post(f"{lesson_url('welcome')}/complete")
    with app.app_context():
        first = _db.session.scalar(select(LessonProgress.completed_at))
    client.post(f"{lesson_url('welcome')}/complete")
    client.get(lesson_url("welcome"))
    with app.app_context():
        rows = _db.session.execute(select(LessonProgress.lesson_id, LessonProgress.completed_at)).all()
    assert len(rows) == 1
    assert rows[0].completed_at == first


def test_a_complete_lesson_shows_as_complete(loaded_course, client, learner):
    client.post(f"{lesson_url('welcome')}/complete")
    page = text_of(client.get(lesson_url("welcome")))
    assert "✓ Complete" in page
    assert "Mark complete and continue" not in page


def test_continue_where_you_left_off(loaded_course, client, learner):
    client.get(lesson_url("welcome"))
    outline = text_of(client.get(OUTLINE))
    assert re.search(rf'class="button button-primary" href="{lesson_url("welcome")}">\s*Continue: 1.1 Welcome', outline)

    client.post(f"{lesson_url('welcome')}/complete")
    outline = text_of(client.get(OUTLINE))
    assert re.search(rf'class="button button-primary" href="{lesson_url("models")}">\s*Continue: 1.2 Models', outline)

    # The lesson last read, while unfinished, is where "continue" leads, even out of course order.
    client.get(lesson_url("tuning"))
    outline = text_of(client.get(OUTLINE))
    assert re.search(rf'class="button button-primary" href="{lesson_url("tuning")}">\s*Continue: 2.2 Tuning', outline)
    client.post(f"{lesson_url('tuning')}/complete")

    client.post(f"{lesson_url('models')}/complete")
    outline = text_of(client.get(OUTLINE))
    assert re.search(
        rf'class="button button-primary" href="{quiz_url("intro-quiz")}">Continue: Chapter 1 quiz', outline
    )
    assert "Continue" in text_of(client.get("/courses"))


def test_unknown_ids_are_not_found(loaded_course, client, learner):
    assert client.get("/courses/no-such-course").status_code == 404
    assert client.get("/courses/no-such-course/lessons/welcome").status_code == 404
    assert client.get(lesson_url("no-such-lesson")).status_code == 404
    assert client.post(f"{lesson_url('no-such-lesson')}/complete").status_code == 404
    assert client.post(workbook_url("no-such-prompt"), data={"wb-no-such-prompt-answer": "x"}).status_code == 404
    assert client.get(quiz_url("no-such-quiz")).status_code == 404
    assert client.get(f"{OUTLINE}/summary").status_code == 200
    assert client.get("/courses/no-such-course/summary").status_code == 404


def test_an_archived_lesson_is_not_found(app, loaded_course, client, learner):
    (loaded_course.root / FIXTURE_COURSE / "02-market/01-launch/02-growth.md").unlink()
    quiz = loaded_course.root / FIXTURE_COURSE / "02-market/01-launch/quiz.yaml"
    quiz.write_text(quiz.read_text(encoding="utf-8").replace("    lesson: growth\n", ""), encoding="utf-8")
    assert load(app, loaded_course.root).applied
    assert client.get(lesson_url("growth")).status_code == 404
    assert client.post(f"{lesson_url('growth')}/complete").status_code == 404


def test_an_overlong_workbook_answer_is_refused_and_kept_in_the_form(app, loaded_course, client, learner):
    limit = app.config["WORKBOOK_MAX_CHARS"]
    text = ("my plan " * (limit // 8 + 1)).strip()
    assert len(text) > limit
    response = client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": text})
    assert response.status_code == 400
    page = text_of(response)
    assert f"Please keep your answer under {limit} characters." in page
    textarea = re.search(r'<textarea[^>]*name="wb-wb-goal-answer"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert textarea and textarea.group(1).strip() == text
    with app.app_context():
        assert _db.session.scalar(select(func.count(WorkbookAnswer.id))) == 0

    exact = "x" * limit
    assert client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": exact}).status_code == 302


def test_a_workbook_answer_is_one_row_per_learner_and_prompt(app, loaded_course, client, learner):
    for text in ("first", "second", "  third  "):
        assert client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": text}).status_code == 302
    with app.app_context():
        answers = _db.session.scalars(select(WorkbookAnswer)).all()
        assert [a.text for a in answers] == ["third"]


def test_anonymous_visitors_are_sent_to_log_in(loaded_course, client, make_user):
    response = client.get(lesson_url("welcome"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert "%2Fcourses%2Fmini-course%2Flessons%2Fwelcome" in response.headers["Location"]
    assert client.post(f"{lesson_url('welcome')}/complete").status_code == 302
    assert client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "x"}).status_code == 302
    assert client.get(SUMMARY).status_code == 302

    # The outline is public, without links into the lessons.
    outline = client.get(OUTLINE)
    assert outline.status_code == 200
    assert "1.1 Welcome" in text_of(outline)
    assert f'href="{lesson_url("welcome")}"' not in text_of(outline)

    # Logging in from there leads back to the lesson.
    user = make_user()
    login = client.post(response.headers["Location"], data={"email": user.email, "password": "correct horse battery"})
    assert login.status_code == 302
    assert login.headers["Location"] == lesson_url("welcome")


def test_a_workbook_answer_is_shown_as_text_not_html(loaded_course, client, learner):
    client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "<script>alert(1)</script> & <b>bold</b>"})
    for path in (lesson_url("welcome"), SUMMARY):
        page = text_of(client.get(path))
        assert "<script>alert(1)</script>" not in page
        assert "<b>bold</b>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in page


def test_a_lesson_page_shows_each_learner_their_own_workbook_answer_only(
    app, loaded_course, client, learner, make_user
):
    """The answers come with the learner's outline (one statement, `learner_state(lesson_id=…)`): for the signed-in
    learner and for that lesson's prompts only."""
    client.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "Mine: a tool for exporters."})
    other = new_client(app)
    assert do_login(other, make_user().email).status_code == 302
    other.post(workbook_url("wb-goal"), data={"wb-wb-goal-answer": "Theirs: a bakery."})
    mine, theirs = text_of(client.get(lesson_url("welcome"))), text_of(other.get(lesson_url("welcome")))
    assert "Mine: a tool for exporters." in mine and "Theirs: a bakery." not in mine
    assert "Theirs: a bakery." in theirs and "Mine: a tool for exporters." not in theirs
    assert "Mine: a tool for exporters." not in text_of(client.get(lesson_url("models")))  # another lesson's prompts
