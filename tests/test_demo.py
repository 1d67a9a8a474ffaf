"""The demo generator: learners simulated against the real outline, graded by the real grader, completions with
the snapshot the real service writes (so the verification page reads them like any other)."""

from __future__ import annotations

from sqlalchemy import func, select

from course.content.cache import quiz_with_questions
from course.content.models import Course, Quiz
from course.demo.generator import generate
from course.extensions import db as _db
from course.progress.completion import verification
from course.progress.models import Completion, LearnerCourseStats
from course.quiz.grading import grade
from course.quiz.models import Attempt


def test_demo_attempts_are_graded_by_the_grader_and_completions_verify(app, real_course, make_user):
    make_user(email="instructor@example.com", role="instructor")
    with app.test_request_context(method="POST", headers={"Accept-Language": "en"}):
        result = generate(80, 1, None, 3, 0.95, "instructor@example.com", weeks_ago=16)
        _db.session.commit()
        assert result["learners"] == 80 and result["instructor"]

        course = _db.session.scalar(select(Course))
        quizzes = {q.id: quiz_with_questions(course, q) for q in _db.session.scalars(select(Quiz))}
        attempts = _db.session.scalars(select(Attempt)).all()
        assert len(attempts) > 100
        for attempt in attempts:
            quiz = quizzes[attempt.quiz_id]
            graded = grade(quiz, {a.question_id: a.response for a in attempt.answers})
            assert (attempt.score, attempt.max_score, attempt.percent) == (graded.score, graded.maximum, graded.percent)
            assert [a.correct for a in attempt.answers] == [a["correct"] for a in graded.answers]
            assert attempt.passed == (graded.percent >= quiz.pass_mark)

        completions = _db.session.scalars(select(Completion)).all()
        assert completions, "some demo learners finish the course"
        for completion in completions:
            # the fields the real service freezes, which the verification page reads
            assert set(completion.snapshot) == {"name", "course", "course_titles", "quizzes"}
            best = dict(
                _db.session.execute(
                    select(Attempt.quiz_id, func.max(Attempt.percent))
                    .where(Attempt.user_id == completion.user_id)
                    .group_by(Attempt.quiz_id)
                ).all()
            )
            for frozen in completion.snapshot["quizzes"]:
                assert set(frozen) == {"key", "title", "titles", "best_percent", "attempts"}
                quiz = next(q for q in quizzes.values() if q.key == frozen["key"])
                assert frozen["titles"] == {"en": quiz.i18n["en"]["title"]}
                assert frozen["best_percent"] == round(best[quiz.id], 1)
            verified = verification(completion, course)  # the reader asks for English
            assert verified.name and verified.course == course.i18n["en"]["title"]
            english = {q.i18n["en"]["title"] for q in quizzes.values()}
            assert {title for title, _best in verified.quizzes} <= english
            assert len(verified.quizzes) == len(quizzes)
        # the dashboard's roll-up was computed for every learner with any activity
        assert _db.session.scalar(select(func.count()).select_from(LearnerCourseStats)) > 0
