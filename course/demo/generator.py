"""`flask demo generate`: realistic cohorts for demos and benchmarks.

The learners are simulated (`course.demo.simulation`) against the course's outline (`course.content.outline`)
and graded by the real grader; completions carry the snapshot the real service writes. Each batch inserts its
learners first, then simulates each one knowing their user id, so their attempts carry the real attempt keys and
answer the questions those attempts' layouts serve (a quiz with `draw` too); the review cards of revealed quizzes
and their FSRS reviews go in with them. Rows go in with bulk inserts (`session.execute(insert(Model), rows)`) in
batches; every demo learner shares one password hash, computed once; the dashboard's roll-up is computed once at
the end. The whole run is one transaction, which the caller commits.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import click
from sqlalchemy import func, insert, select, update

from course.accounts.models import Role, User
from course.accounts.services import hash_password
from course.cohorts.models import Cohort, Enrolment
from course.cohorts.schedule import release_dates
from course.cohorts.services import CohortSettings, create_cohort
from course.content.cache import quiz_with_questions
from course.content.models import Course, Question
from course.content.outline import course_outline
from course.content.question_types import question_type
from course.db_types import utcnow
from course.demo.simulation import VAGUE_TEXT_ANSWERS, ChapterSim, QuestionSim, QuizSim, SimulatedLearner, Simulator
from course.extensions import db
from course.progress import rollup
from course.progress.completion import snapshot
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.progress.review_models import ReviewCard, ReviewLog
from course.quiz.models import Attempt, AttemptAnswer

DEMO_PASSWORD = "demo-learner-pass"  # noqa: S105 - printed by the command; demo data only
BATCH = 250  # learners simulated and inserted per batch
DEFAULT_RETENTION = 0.95  # of an average learner: the chance of keeping going to the end (course.demo.simulation)


def _course_sims(course: Course, rng: random.Random) -> list[ChapterSim]:
    """The course's chapters in course order, as the simulation needs them."""
    outline = course_outline(course)
    # the first accepted answer of every question graded by accepted texts: wrong answers to the others
    short_answers = [
        q.accepted[0]
        for q in db.session.scalars(select(Question).where(Question.course_id == course.id))
        if question_type(q.type).takes_accepted_answers and q.accepted
    ]
    sims = []
    for chapter in outline.chapters:
        lessons = [(lesson.id, [p.id for p in outline.prompts_of(lesson)]) for lesson in chapter.lessons]
        quiz_sim = None
        if chapter.quiz is not None:
            quiz = quiz_with_questions(course, chapter.quiz)
            questions = {}
            for q in quiz.questions:
                kind = question_type(q.type)
                options = [o.key for o in q.options]
                keyed = list(q.accepted[:1]) if kind.takes_accepted_answers else sorted(kind.correct_response(q))
                distractors = [o for o in options if o not in keyed]
                others = [a for a in short_answers if a not in q.accepted]
                questions[q.id] = QuestionSim(
                    id=q.id,
                    input_kind=kind.input_kind,
                    keyed=keyed,
                    options=options,
                    difficulty=min(rng.gauss(-0.8, 0.7), 0.6),  # a hard question, not an impossible quiz
                    lure=rng.choice(distractors) if distractors else None,
                    wrong_texts=rng.sample(others, min(2, len(others))) + VAGUE_TEXT_ANSWERS[:1],
                )
            if questions:  # one tricky question: most learners fall for its lure
                tricky = rng.choice([q for q in questions.values() if q.lure] or list(questions.values()))
                tricky.difficulty = 1.3
            quiz_sim = QuizSim(quiz, questions)
        sims.append(ChapterSim(chapter.chapter.id, chapter.reference, lessons, quiz_sim, datetime.min))
    return sims


def _pick_course(course_key: str | None) -> Course:
    query = select(Course).where(Course.archived_at.is_(None)).order_by(Course.id)
    if course_key:
        query = query.where(Course.key == course_key)
    courses = db.session.scalars(query).all()
    if not courses:
        raise click.ClickException(
            "no such course: load the content first (flask --app course content load)"
            if not course_key
            else f"no course with the key {course_key!r}"
        )
    return courses[0]


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Core inserts (`Model.__table__`): the rows are complete, so they skip the ORM's bulk bookkeeping.
def _insert(model: Any, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, 5000):
        db.session.execute(insert(model.__table__), chunk)


def _insert_returning(model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows`; their new ids, in the rows' order."""
    table = model.__table__
    ids: list[int] = []
    for chunk in _chunks(rows, 2000):
        ids.extend(db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk))
    return ids


def _insert_children(model: Any, parent_key: str, parent_ids: list[int], children: list[list[dict[str, Any]]]):
    """Insert each parent's `children` rows with the parent's id in `parent_key`."""
    _insert(
        model,
        [{**child, parent_key: parent} for parent, mine in zip(parent_ids, children, strict=True) for child in mine],
    )


def _insert_learners(learners: list[SimulatedLearner], names: list[str], cohort: Cohort, course: Course) -> int:
    """The rows of simulated learners (their users inserted already); returns how many lesson progress rows."""
    enrolments = [
        {
            "cohort_id": cohort.id,
            "user_id": sim.user_id,
            "course_id": cohort.course_id,
            "enrolled_at": sim.enrolled_at,
            "source": "demo",
            "extension_days": 0,
            "extension_note": "",
        }
        for sim in learners
    ]
    progress = [row for sim in learners for row in sim.progress]
    completions = [
        {**sim.completion, "snapshot": snapshot(name, course, sim.quiz_results)}
        for sim, name in zip(learners, names, strict=True)
        if sim.completion
    ]
    attempts = [attempt for sim in learners for attempt in sim.attempts]
    cards = [card for sim in learners for card in sim.cards]
    _insert(Enrolment, enrolments)
    _insert(LessonProgress, progress)
    _insert(WorkbookAnswer, [row for sim in learners for row in sim.workbook])
    _insert(Completion, completions)
    attempt_ids = _insert_returning(Attempt, [attempt for attempt, _answers in attempts])
    _insert_children(AttemptAnswer, "attempt_id", attempt_ids, [answers for _attempt, answers in attempts])
    card_ids = _insert_returning(ReviewCard, [card.row() for card in cards])
    _insert_children(ReviewLog, "card_id", card_ids, [card.logs for card in cards])
    return len(progress)


def generate(
    learners: int,
    cohorts: int,
    course_key: str | None,
    seed: int,
    retention: float,
    instructor_email: str,
    weeks_ago: int | None = None,
) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    course = _pick_course(course_key)
    now = utcnow()
    instructor = db.session.scalar(select(User).where(User.email == instructor_email))
    instructor_ids = [instructor.id] if instructor is not None and instructor.is_instructor else []
    base_sims = _course_sims(course, rng)
    password_hash = hash_password(DEMO_PASSWORD)  # once, shared by every demo learner
    tag = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    made = []
    counts = {"learners": 0, "progress": 0, "review_cards": 0}
    per_cohort = [learners // cohorts + (1 if k < learners % cohorts else 0) for k in range(cohorts)]
    with click.progressbar(length=learners, label="Generating learners", show_pos=True) as bar:
        for k, size in enumerate(per_cohort):
            started = weeks_ago if weeks_ago is not None else [10, 6, 3, 12, 8][k % 5]
            starts_on: date = now.date() - timedelta(weeks=started)
            cohort = create_cohort(
                course,
                CohortSettings(
                    name=f"Demo cohort {tag}-{k + 1}", starts_on=starts_on, ends_on=starts_on + timedelta(weeks=14)
                ),
                instructor_ids,
            )
            opens = release_dates(cohort)
            sims = [
                ChapterSim(
                    c.id,
                    c.reference,
                    c.lessons,
                    c.quiz,
                    datetime.combine(opens.get(c.id, starts_on), datetime.min.time(), tzinfo=now.tzinfo),
                )
                for c in base_sims
            ]
            sim = Simulator(rng, course, sims, now, retention)
            cohort_start = datetime.combine(starts_on, datetime.min.time(), tzinfo=now.tzinfo)
            for first in range(0, size, BATCH):
                numbers = range(first, min(first + BATCH, size))
                names = [sim.name() for _ in numbers]
                users = [
                    {
                        "email": f"demo{tag}-{k + 1}-{i + 1:05d}@example.com",
                        "name": name,
                        "password_hash": password_hash,
                        "role": Role.LEARNER,
                        "active": True,
                        "session_token": uuid.uuid4().hex,
                        "created_at": now,
                    }
                    for i, name in zip(numbers, names, strict=True)
                ]
                user_ids = _insert_returning(User, users)  # first: a learner's attempts depend on their id
                learners_made = [sim.learner(cohort_start, user_id) for user_id in user_ids]
                counts["progress"] += _insert_learners(learners_made, names, cohort, course)
                counts["learners"] += len(users)
                counts["review_cards"] += sum(len(learner.cards) for learner in learners_made)
                bar.update(len(users))
            db.session.execute(update(Cohort).where(Cohort.id == cohort.id).values(enrolled_count=size))
            made.append(cohort)
    rollup.refresh_course(course.id)  # rows went in around the services: compute the dashboard's roll-up once
    return {"cohorts": [(c.id, c.name) for c in made], "instructor": instructor_ids, **counts}
