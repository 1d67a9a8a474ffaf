"""Factories for dashboard tests: cohorts, learners with progress and attempts built directly in the database
(with exact timestamps), and bulk cohorts for the query-count tests.

Every function opens its own app context and commits, so tests can drive the client afterwards. Rows written
here go around the services, so each function refreshes the dashboard's roll-up as the services would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import insert, select, update

from course.accounts.models import Role, User
from course.cohorts.models import Cohort, Enrolment
from course.cohorts.schedule import set_schedule
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Chapter, Course, Lesson, Question, Quiz, WorkbookPrompt
from course.content.question_types import question_type
from course.db_types import utcnow
from course.extensions import db as _db
from course.progress import rollup
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.quiz.models import Attempt, AttemptAnswer

COURSE = "mini-course"
LESSONS = ["welcome", "models", "data", "tuning", "pricing", "growth"]  # course order
HASH = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$0000000000000000000000"  # never used to log in


def course_id(app: Flask, key: str = COURSE) -> int:
    with app.app_context():
        return _db.session.scalar(select(Course.id).where(Course.key == key))


def make_cohort(
    app: Flask,
    instructors: Iterable[int] = (),
    name: str = "Spring",
    starts_on: date | None = None,
    opens: dict[str, date] | None = None,
) -> int:
    """A cohort of the mini course; `opens` sets chapter release dates by chapter key."""
    starts_on = starts_on or utcnow().date() - timedelta(days=30)
    with app.app_context():
        course = _db.session.scalar(select(Course).where(Course.key == COURSE))
        cohort = create_cohort(
            course,
            CohortSettings(name=name, starts_on=starts_on, ends_on=starts_on + timedelta(days=120)),
            list(instructors),
        )
        if opens:
            keys = select(Chapter.key, Chapter.id).where(Chapter.course_id == course.id)
            chapters = dict(_db.session.execute(keys).all())
            set_schedule(cohort, {chapters[k]: d for k, d in opens.items()})
        _db.session.commit()
        return cohort.id


def add_learner(
    app: Flask,
    cohort_id: int,
    name: str,
    email: str | None = None,
    enrolled_at: datetime | None = None,
    extension_days: int = 0,
) -> int:
    with app.app_context():
        cohort = _db.session.get(Cohort, cohort_id)
        user = User(
            email=email or f"{name.lower().replace(' ', '.')}@example.com",
            name=name,
            password_hash=HASH,
            role=Role.LEARNER,
        )
        _db.session.add(user)
        _db.session.flush()
        _db.session.add(
            Enrolment(
                cohort_id=cohort_id,
                user_id=user.id,
                course_id=cohort.course_id,
                enrolled_at=enrolled_at or utcnow() - timedelta(days=30),
                extension_days=extension_days,
                source="test",
            )
        )
        _db.session.execute(
            update(Cohort).where(Cohort.id == cohort_id).values(enrolled_count=Cohort.enrolled_count + 1)
        )
        _db.session.commit()
        return user.id


def view(app: Flask, user_id: int, lesson: str, at: datetime, completed: bool = True, seconds: int = 300) -> None:
    """A progress row: first and last viewed `at`, completed a few minutes later (or not)."""
    with app.app_context():
        row = _db.session.execute(select(Lesson.id, Lesson.course_id).where(Lesson.key == lesson)).one()
        _db.session.add(
            LessonProgress(
                user_id=user_id,
                lesson_id=row.id,
                course_id=row.course_id,
                first_viewed_at=at,
                last_viewed_at=at,
                completed_at=at + timedelta(seconds=seconds) if completed else None,
                time_spent_seconds=seconds if completed else 0,
            )
        )
        rollup.refresh_learner(user_id, row.course_id)  # written around the services, as they would keep it
        _db.session.commit()


def attempt(app: Flask, user_id: int, quiz_key: str, answers: dict[str, Any], at: datetime) -> int:
    """A graded attempt with the given responses (question key → option key(s) or text); the next number."""
    with app.app_context():
        quiz = _db.session.scalar(select(Quiz).where(Quiz.key == quiz_key))
        number = 1 + len(
            _db.session.scalars(select(Attempt.id).where(Attempt.user_id == user_id, Attempt.quiz_id == quiz.id)).all()
        )
        rows, score, maximum = [], 0.0, 0.0
        for position, q in enumerate(quiz.questions, start=1):
            response = answers[q.key]
            if question_type(q.type).input_kind != "text" and not isinstance(response, list):
                response = [response]
            right = question_type(q.type).is_correct(q, response)
            rows.append(
                AttemptAnswer(
                    question_id=q.id,
                    position=position,
                    response=response,
                    correct=right,
                    points=float(q.points) if right else 0.0,
                    max_points=float(q.points),
                )
            )
            score += q.points if right else 0
            maximum += q.points
        percent = round(100 * score / maximum, 2)
        a = Attempt(
            user_id=user_id,
            quiz_id=quiz.id,
            number=number,
            submission_key=uuid.uuid4().hex,
            submitted_at=at,
            score=score,
            max_score=maximum,
            percent=percent,
            pass_mark=quiz.pass_mark,
            passed=percent >= quiz.pass_mark,
            content_version=quiz.version,
            answers=rows,
        )
        _db.session.add(a)
        _db.session.flush()
        rollup.refresh_learner(user_id, quiz.course_id)
        _db.session.commit()
        return a.id


def complete_course(app: Flask, user_id: int, at: datetime) -> None:
    with app.app_context():
        _db.session.add(
            Completion(
                user_id=user_id,
                course_id=_db.session.scalar(select(Course.id).where(Course.key == COURSE)),
                started_at=at - timedelta(days=10),
                completed_at=at,
                snapshot={},
            )
        )
        _db.session.commit()


def workbook(app: Flask, user_id: int, text: str) -> None:
    with app.app_context():
        prompt = _db.session.scalar(select(WorkbookPrompt).order_by(WorkbookPrompt.id))
        _db.session.add(WorkbookAnswer(user_id=user_id, prompt_id=prompt.id, text=text))
        _db.session.commit()


def bulk_cohort(app: Flask, size: int, instructors: Iterable[int], name: str) -> int:
    """A cohort of `size` learners made with bulk inserts: uneven progress through the six lessons, a first
    attempt at the intro quiz for most, a second for some. Returns the cohort id."""
    cohort_id = make_cohort(app, instructors, name=name)
    now = utcnow()
    with app.app_context():
        cid = _db.session.scalar(select(Course.id).where(Course.key == COURSE))
        lessons = dict(_db.session.execute(select(Lesson.key, Lesson.id).where(Lesson.course_id == cid)).all())
        quiz = _db.session.scalar(select(Quiz).where(Quiz.key == "intro-quiz"))
        questions = list(
            _db.session.scalars(select(Question).where(Question.quiz_id == quiz.id).order_by(Question.position))
        )
        tag = uuid.uuid4().hex[:8]
        user_ids = list(
            _db.session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [
                    {
                        "email": f"bulk-{tag}-{i}@example.com",
                        "name": f"Bulk {i:05d}",
                        "password_hash": HASH,
                        "role": Role.LEARNER,
                        "session_token": uuid.uuid4().hex,
                    }
                    for i in range(size)
                ],
            )
        )
        _db.session.execute(
            insert(Enrolment),
            [
                {
                    "cohort_id": cohort_id,
                    "user_id": uid,
                    "course_id": cid,
                    "enrolled_at": now - timedelta(days=20),
                    "source": "test",
                    "extension_days": i % 3,
                    "extension_note": "",
                }
                for i, uid in enumerate(user_ids)
            ],
        )
        progress, attempts = [], []
        for i, uid in enumerate(user_ids):
            reached = i % (len(LESSONS) + 1)
            for n, key in enumerate(LESSONS[:reached]):
                at = now - timedelta(days=15 - n, hours=i % 24)
                progress.append(
                    {
                        "user_id": uid,
                        "lesson_id": lessons[key],
                        "course_id": cid,
                        "first_viewed_at": at,
                        "last_viewed_at": at,
                        "completed_at": at if n % 4 != 3 else None,
                        "time_spent_seconds": 60,
                    }
                )
            if reached >= 2:
                for number in (1, 2) if i % 5 == 0 else (1,):
                    attempts.append(
                        {
                            "user_id": uid,
                            "quiz_id": quiz.id,
                            "number": number,
                            "submission_key": uuid.uuid4().hex,
                            "submitted_at": now - timedelta(days=3),
                            "score": float(i % 5),
                            "max_score": 4.0,
                            "percent": 25.0 * (i % 5),
                            "pass_mark": quiz.pass_mark,
                            "passed": i % 5 >= 3,
                            "content_version": "",
                        }
                    )
        _db.session.execute(insert(LessonProgress), progress)
        attempt_ids = list(
            _db.session.scalars(insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True), attempts)
        )
        answers = []
        for aid, a in zip(attempt_ids, attempts, strict=True):
            for position, q in enumerate(questions, start=1):
                right = position <= a["score"]
                answers.append(
                    {
                        "attempt_id": aid,
                        "question_id": q.id,
                        "position": position,
                        "response": ("fine-tuning" if right else "pre-training")
                        if question_type(q.type).input_kind == "text"
                        else (["a"] if right else ["b"]),
                        "correct": right,
                        "points": 1.0 if right else 0.0,
                        "max_points": 1.0,
                    }
                )
        _db.session.execute(insert(AttemptAnswer), answers)
        _db.session.execute(update(Cohort).where(Cohort.id == cohort_id).values(enrolled_count=size))
        rollup.refresh_course(cid)
        _db.session.commit()
    return cohort_id


def first_learner(app: Flask, cohort_id: int) -> int:
    with app.app_context():
        return _db.session.scalar(
            select(Enrolment.user_id).where(Enrolment.cohort_id == cohort_id).order_by(Enrolment.user_id).offset(3)
        )
