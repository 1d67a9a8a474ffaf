"""`flask demo generate`: realistic cohorts for demos and benchmarks.

Each simulated learner has an ability and a pace. They work through the course in order, never before a
chapter opens and never after now; each chapter start (the first ones most) and each lesson may be where they
drop out, so the funnel narrows unevenly and the ones who stopped weeks ago show up as inactive. A learner
who completes a chapter's lessons takes its quiz: each answer is right with a probability from the learner's
ability and the question's difficulty; wrong answers go mostly to one plausible distractor per question. Some
retry after failing (a little better each time), some give up after two failures. The few who finish every
lesson and pass every quiz get a completion.

Rows go in with bulk inserts (`session.execute(insert(Model), rows)`) in batches; every demo learner shares
one password hash, computed once; the dashboard's roll-up is computed once at the end. The whole run is one
transaction.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select, update

from course.auth.models import Role, User
from course.auth.services import hash_password
from course.cohorts.models import ChapterRelease, Cohort, Enrolment
from course.cohorts.services import CohortSettings, create_cohort
from course.content.models import Chapter, Course, Lesson, Module, WorkbookPrompt
from course.dashboard import rollup
from course.db_types import utcnow
from course.extensions import db
from course.progress.models import Completion, LessonProgress, WorkbookAnswer
from course.quiz.models import Attempt, AttemptAnswer, Question, Quiz

DEMO_PASSWORD = "demo-learner-pass"  # noqa: S105 - printed by the command; demo data only
BATCH = 250  # learners simulated and inserted per batch

FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈任姚卢"
GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 洋 艳 勇 军 杰 娟 涛 明 超 秀英 华 慧 建华 子涵 雨桐 浩然 思远 一鸣 欣怡 嘉怡 "
    "志强 晓东 海燕 俊杰 文博 宇航 梓萱 佳琪 子轩 天宇 若曦 晨阳"
).split()
ENGLISH = "Alex Emily Kevin Grace Jason Vivian Eric Cindy Leo Sophia Ryan Iris Daniel Chloe Max Nina".split()
WORKBOOK_TEXTS = [
    "先在新加坡注册主体，六个月内完成东南亚三个市场的试点。",
    "目标客户：北美中型 SaaS 企业；切入点是多语言客服。",
    "团队需要补一位懂当地法规的合规负责人。",
    "融资计划：种子轮 300 万美元，用于模型微调和海外销售。",
    "风险：数据跨境合规；对策：本地部署 + 数据脱敏。",
    "First market: Japan, through a reseller partner; pricing per seat.",
]
VAGUE_TEXT_ANSWERS = ["不知道", "不确定", "模型"]


@dataclass
class QuestionSim:
    id: int
    type: str
    points: int
    keyed: list[str]
    options: list[str]
    difficulty: float
    lure: str | None  # the distractor most wrong answers go to
    wrong_texts: list[str] = field(default_factory=list)


@dataclass
class QuizSim:
    id: int
    title: str
    pass_mark: int
    max_attempts: int | None
    version: str
    questions: list[QuestionSim]


@dataclass
class ChapterSim:
    id: int
    reference: bool
    lessons: list[tuple[int, list[int]]]  # (lesson id, workbook prompt ids)
    quiz: QuizSim | None
    opens: datetime


@dataclass
class Plan:
    """The rows of one batch, ready for bulk inserts."""

    users: list[dict[str, Any]] = field(default_factory=list)
    learners: list[Learner] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.users)


@dataclass
class Learner:
    enrolled_at: datetime
    progress: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    workbook: list[dict[str, Any]] = field(default_factory=list)
    completion: dict[str, Any] | None = None


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class Simulator:
    def __init__(self, rng: random.Random, course: Course, chapters: list[ChapterSim], now: datetime,
                 retention: float) -> None:
        self.rng = rng
        self.course = course
        self.chapters = chapters
        self.now = now
        # Per-chapter chance of dropping out at a chapter's start, for an average learner.
        self.base_hazard = max(0.002, min(0.5, 0.25 * (1 - retention)))
        self.total_lessons = sum(len(c.lessons) for c in chapters)

    def name(self) -> str:
        if self.rng.random() < 0.15:
            return f"{self.rng.choice(ENGLISH)} {self.rng.choice(FAMILY)}"
        return self.rng.choice(FAMILY) + self.rng.choice(GIVEN)

    def learner(self, cohort_start: datetime) -> Learner:
        rng = self.rng
        enrolled = min(cohort_start - timedelta(days=rng.uniform(0, 14)), self.now - timedelta(hours=1))
        sim = Learner(enrolled_at=enrolled)
        if rng.random() < 0.06:  # enrolled, never opened a lesson
            return sim
        ability = rng.gauss(0.6, 0.9)
        motivation = rng.gauss(0.0, 1.0)
        hazard = self.base_hazard * math.exp(-0.9 * motivation - 0.4)  # mean factor 1
        pace_days = rng.lognormvariate(math.log(1.3), 0.4)  # days between lessons
        t = max(enrolled, cohort_start) + timedelta(hours=rng.uniform(2, 72))
        all_done, time_spent, first_view = True, 0, None
        bests: dict[int, tuple[str, float, int]] = {}
        passed_all = True
        for n, chapter in enumerate(self.chapters):
            if not chapter.reference:
                weight = 1.8 if n == 0 else 1.4 if n == 1 else 1.0
                if n > 0 and rng.random() < hazard * weight:
                    return sim
            chapter_complete = True
            for lesson_id, prompts in chapter.lessons:
                t = max(t + timedelta(days=rng.expovariate(1 / pace_days)), chapter.opens)
                if t >= self.now:
                    return sim
                if rng.random() < hazard * 0.25:
                    return sim
                spent = int(min(rng.lognormvariate(math.log(540), 0.5), 1800))
                completed = rng.random() < ((0.998 if motivation > 0 else 0.985) if not chapter.reference else 0.85)
                last_view = t + timedelta(seconds=spent)
                if rng.random() < 0.15:  # came back to it later
                    last_view = min(t + timedelta(days=rng.uniform(0.5, 10)), self.now)
                first_view = first_view or t
                sim.progress.append({
                    "lesson_id": lesson_id,
                    "course_id": self.course.id,
                    "first_viewed_at": t,
                    "last_viewed_at": last_view,
                    "completed_at": t + timedelta(seconds=spent) if completed else None,
                    "time_spent_seconds": spent if completed else 0,
                })
                time_spent += spent if completed else 0
                chapter_complete = chapter_complete and completed
                if completed and prompts and rng.random() < 0.35:
                    for prompt_id in prompts:
                        sim.workbook.append({"prompt_id": prompt_id, "text": rng.choice(WORKBOOK_TEXTS),
                                             "created_at": t, "updated_at": t})
            all_done = all_done and chapter_complete
            if chapter.quiz is None:
                continue
            if not chapter_complete:
                passed_all = False
                continue
            tries = len(sim.attempts)
            t, best, passed, ability = self._take_quiz(sim, chapter.quiz, t, ability)
            if best is not None:
                bests[chapter.quiz.id] = (chapter.quiz.title, best, len(sim.attempts) - tries)
            passed_all = passed_all and passed
            if t >= self.now:
                return sim
        if all_done and passed_all and sim.progress:
            finished = max(p["completed_at"] for p in sim.progress if p["completed_at"])
            finished = max([finished] + [a["submitted_at"] for a, _ in sim.attempts])
            sim.completion = {
                "course_id": self.course.id,
                "started_at": first_view,
                "completed_at": finished,
                "time_spent_seconds": time_spent,
                "verification_code": uuid.uuid4().hex,
                "snapshot": {"name": "", "course": self.course.title,
                             "quizzes": [{"title": title, "best_percent": round(b, 1), "attempts": n}
                                         for title, b, n in bests.values()]},
            }
        return sim

    def _take_quiz(self, sim: Learner, quiz: QuizSim, t: datetime, ability: float):  # noqa: ANN202
        rng = self.rng
        number, best, passed, failures = 0, None, False, 0
        limit = quiz.max_attempts or 4
        while number < limit:
            t = t + timedelta(hours=rng.uniform(0.2, 30))
            if t >= self.now:
                break
            number += 1
            answers, score, maximum = [], 0.0, 0.0
            for position, q in enumerate(quiz.questions, start=1):
                right = rng.random() < _sigmoid(1.7 * (ability - q.difficulty))
                response = q.keyed if q.type != "short_text" else (q.keyed[0] if q.keyed else "")
                if not right:
                    response = self._wrong(q)
                points = float(q.points) if right else 0.0
                answers.append({"question_id": q.id, "position": position, "response": response,
                                "correct": right, "points": points, "max_points": float(q.points)})
                score += points
                maximum += q.points
            percent = round(100 * score / maximum, 2) if maximum else 0.0
            passed = percent >= quiz.pass_mark
            sim.attempts.append(({
                "quiz_id": quiz.id, "number": number, "submission_key": uuid.uuid4().hex, "submitted_at": t,
                "score": score, "max_score": maximum, "percent": percent, "pass_mark": quiz.pass_mark,
                "passed": passed, "content_version": quiz.version,
            }, answers))
            best = percent if best is None else max(best, percent)
            if passed:
                break
            failures += 1
            ability += rng.uniform(0.2, 0.6)  # they re-read the chapter
            if rng.random() > (0.9 if failures == 1 else 0.5):
                break  # gave up for now
        return t, best, passed, ability

    def _wrong(self, q: QuestionSim) -> Any:
        rng = self.rng
        if q.type == "short_text":
            return rng.choice(q.wrong_texts) if q.wrong_texts else rng.choice(VAGUE_TEXT_ANSWERS)
        distractors = [o for o in q.options if o not in q.keyed]
        if q.type == "multiple":
            if len(q.keyed) > 1 and rng.random() < 0.6:
                dropped = rng.choice(q.keyed)
                return sorted(k for k in q.keyed if k != dropped)
            return sorted(set(q.keyed) | {q.lure or rng.choice(distractors)}) if distractors else []
        if not distractors:
            return []
        if q.lure and rng.random() < 0.7:
            return [q.lure]
        return [rng.choice(distractors)]


def _course_sims(course: Course, rng: random.Random) -> list[ChapterSim]:
    chapters = db.session.execute(
        select(Chapter.id, Module.kind)
        .join(Module, Module.id == Chapter.module_id)
        .where(Chapter.course_id == course.id, Chapter.archived_at.is_(None), Module.archived_at.is_(None))
        .order_by(Module.position, Chapter.position)
    ).all()
    lessons: dict[int, list[tuple[int, list[int]]]] = {}
    prompts: dict[int, list[int]] = {}
    for prompt_id, lesson_id in db.session.execute(
        select(WorkbookPrompt.id, WorkbookPrompt.lesson_id).where(
            WorkbookPrompt.course_id == course.id, WorkbookPrompt.archived_at.is_(None)
        )
    ):
        prompts.setdefault(lesson_id, []).append(prompt_id)
    for lesson_id, chapter_id in db.session.execute(
        select(Lesson.id, Lesson.chapter_id)
        .where(Lesson.course_id == course.id, Lesson.archived_at.is_(None))
        .order_by(Lesson.position)
    ):
        lessons.setdefault(chapter_id, []).append((lesson_id, prompts.get(lesson_id, [])))
    quizzes = {
        q.chapter_id: q
        for q in db.session.scalars(select(Quiz).where(Quiz.course_id == course.id, Quiz.archived_at.is_(None)))
    }
    short_answers = [
        q.accepted[0]
        for q in db.session.scalars(
            select(Question).where(Question.course_id == course.id, Question.type == "short_text")
        )
        if q.accepted
    ]
    sims = []
    for chapter_id, kind in chapters:
        quiz = quizzes.get(chapter_id)
        quiz_sim = None
        if quiz is not None:
            questions = []
            for q in quiz.questions:
                options = [o.key for o in q.options]
                keyed = [o.key for o in q.options if o.correct] if q.type != "short_text" else list(q.accepted[:1])
                distractors = [o for o in options if o not in keyed]
                others = [a for a in short_answers if a not in q.accepted]
                questions.append(QuestionSim(
                    id=q.id, type=q.type, points=q.points, keyed=keyed, options=options,
                    difficulty=rng.gauss(-0.7, 0.9),
                    lure=rng.choice(distractors) if distractors else None,
                    wrong_texts=rng.sample(others, min(2, len(others))) + VAGUE_TEXT_ANSWERS[:1],
                ))
            if questions:  # one tricky question: most learners fall for its lure
                tricky = rng.choice([q for q in questions if q.lure] or questions)
                tricky.difficulty = 1.8
            quiz_sim = QuizSim(quiz.id, quiz.title, quiz.pass_mark, quiz.max_attempts, quiz.version, questions)
        sims.append(ChapterSim(chapter_id, kind == "reference", lessons.get(chapter_id, []), quiz_sim, datetime.min))
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


def _chunks(items: list, size: int):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert_batch(plan: Plan, cohort: Cohort) -> int:
    user_ids = list(db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True), plan.users
    ))
    db.session.execute(insert(Enrolment), [
        {"cohort_id": cohort.id, "user_id": uid, "course_id": cohort.course_id, "enrolled_at": sim.enrolled_at,
         "source": "demo", "extension_days": 0, "extension_note": ""}
        for uid, sim in zip(user_ids, plan.learners, strict=True)
    ])
    progress, workbook, completions, attempts, answers = [], [], [], [], []
    for uid, sim in zip(user_ids, plan.learners, strict=True):
        progress.extend({**row, "user_id": uid} for row in sim.progress)
        workbook.extend({**row, "user_id": uid} for row in sim.workbook)
        if sim.completion:
            completions.append({**sim.completion, "user_id": uid})
        for attempt, attempt_answers in sim.attempts:
            attempts.append({**attempt, "user_id": uid})
            answers.append(attempt_answers)
    for rows in _chunks(progress, 5000):
        db.session.execute(insert(LessonProgress), rows)
    for rows in _chunks(workbook, 5000):
        db.session.execute(insert(WorkbookAnswer), rows)
    if completions:
        db.session.execute(insert(Completion), completions)
    for start in range(0, len(attempts), 2000):
        ids = list(db.session.scalars(
            insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True), attempts[start : start + 2000]
        ))
        rows = [
            {**answer, "attempt_id": attempt_id}
            for attempt_id, attempt_answers in zip(ids, answers[start : start + 2000], strict=True)
            for answer in attempt_answers
        ]
        for chunk in _chunks(rows, 5000):
            db.session.execute(insert(AttemptAnswer), chunk)
    return len(progress)


def generate(learners: int, cohorts: int, course_key: str | None, seed: int, retention: float,
             instructor_email: str, weeks_ago: int | None = None) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    course = _pick_course(course_key)
    now = utcnow()
    instructor = db.session.scalar(select(User).where(User.email == instructor_email))
    instructor_ids = [instructor.id] if instructor is not None and instructor.is_instructor else []
    base_sims = _course_sims(course, rng)
    password_hash = hash_password(DEMO_PASSWORD)  # once, shared by every demo learner
    tag = (db.session.scalar(select(func.max(User.id))) or 0) + 1
    made = []
    counts = {"learners": 0, "progress": 0}
    per_cohort = [learners // cohorts + (1 if k < learners % cohorts else 0) for k in range(cohorts)]
    with click.progressbar(length=learners, label="Generating learners", show_pos=True) as bar:
        for k, size in enumerate(per_cohort):
            started = weeks_ago if weeks_ago is not None else [10, 6, 3, 12, 8][k % 5]
            starts_on: date = now.date() - timedelta(weeks=started)
            cohort = create_cohort(
                course,
                CohortSettings(name=f"Demo cohort {tag}-{k + 1}", starts_on=starts_on,
                               ends_on=starts_on + timedelta(weeks=14)),
                instructor_ids,
            )
            opens = dict(db.session.execute(
                select(ChapterRelease.chapter_id, ChapterRelease.opens_on).where(ChapterRelease.cohort_id == cohort.id)
            ).all())
            sims = [
                ChapterSim(c.id, c.reference, c.lessons, c.quiz,
                           datetime.combine(opens.get(c.id, starts_on), datetime.min.time(), tzinfo=now.tzinfo))
                for c in base_sims
            ]
            sim = Simulator(rng, course, sims, now, retention)
            cohort_start = datetime.combine(starts_on, datetime.min.time(), tzinfo=now.tzinfo)
            for first in range(0, size, BATCH):
                plan = Plan()
                for i in range(first, min(first + BATCH, size)):
                    name = sim.name()
                    plan.users.append({
                        "email": f"demo{tag}-{k + 1}-{i + 1:05d}@example.com", "name": name,
                        "password_hash": password_hash, "role": Role.LEARNER, "active": True,
                        "session_token": uuid.uuid4().hex, "created_at": now,
                    })
                    learner = sim.learner(cohort_start)
                    if learner.completion:
                        learner.completion["snapshot"]["name"] = name
                    plan.learners.append(learner)
                counts["progress"] += _insert_batch(plan, cohort)
                counts["learners"] += len(plan)
                bar.update(len(plan))
            db.session.execute(update(Cohort).where(Cohort.id == cohort.id).values(enrolled_count=size))
            made.append(cohort)
    rollup.refresh_course(course.id)  # rows went in around the services: compute the dashboard's roll-up once
    db.session.commit()
    return {"cohorts": [(c.id, c.name) for c in made], "instructor": instructor_ids, **counts}


@click.command("generate")
@click.option("--learners", type=click.IntRange(1, 200_000), default=200, show_default=True,
              help="Learners in all, spread evenly over the cohorts.")
@click.option("--cohorts", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--course", "course_key", default=None, help="Course key (default: the first loaded course).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed, the same data.")
@click.option("--retention", type=click.FloatRange(0.0, 1.0), default=0.6, show_default=True,
              help="How many learners keep going (1.0: almost nobody drops out).")
@click.option("--weeks-ago", type=click.IntRange(0, 52), default=None,
              help="Start every cohort this many weeks ago (default: staggered, 3 to 12 weeks ago).")
@click.option("--instructor", "instructor_email", default="instructor@example.com", show_default=True,
              help="Instructor who teaches the demo cohorts (if the account exists).")
@with_appcontext
def generate_command(learners: int, cohorts: int, course_key: str | None, seed: int, retention: float,
                     weeks_ago: int | None, instructor_email: str) -> None:
    """Generate demo cohorts with learners, progress, quiz attempts and workbook answers."""
    from flask import current_app

    if current_app.config.get("SESSION_COOKIE_SECURE"):
        raise click.ClickException("demo data is not generated in production")
    if cohorts > learners:
        raise click.ClickException("--cohorts cannot exceed --learners")
    started = utcnow()
    result = generate(learners, cohorts, course_key, seed, retention, instructor_email, weeks_ago)
    seconds = (utcnow() - started).total_seconds()
    click.echo(f"{result['learners']} learners, {result['progress']} lesson progress rows in {seconds:.1f}s")
    for cohort_id, name in result["cohorts"]:
        click.echo(f"  cohort {cohort_id}: {name} — dashboard at /cohorts/{cohort_id}/dashboard")
    if not result["instructor"]:
        click.echo(f"  ({instructor_email} does not exist: only admins see these cohorts)")
    click.echo(f"  demo learners log in with the password {DEMO_PASSWORD!r}")
