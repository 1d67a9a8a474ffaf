"""Simulated learners for the demo data: each has an ability, a motivation and a pace, and works through the
course in order, as a cohort on a weekly schedule does.

The spread an instructor sees in a real cohort: most learners read each chapter in the week it opens (they never
read before a chapter opens, nor after now); some read slower and slip a chapter behind, then catch up in a
burst; now and then someone takes a break of a few days to a few weeks; a few stop for good (with `retention`
0.95, one in twenty over the whole course, more of them in the first chapters, the less motivated more often) and a
few never start. A learner who completes a chapter's lessons takes its quiz: each answer is right with a
probability from the learner's ability and the question's difficulty; wrong answers go mostly to one plausible
distractor per question. Each attempt is what the real quiz page serves: attempt n is recorded under
`attempt_key(user, quiz, n)` and answers exactly the questions its layout serves (`course.quiz.layout`: a quiz
with `draw` serves a different set each attempt), graded by the real grader (`course.quiz.grading`). Most retry
after failing (a little better each time, having re-read the chapter), never inside the quiz's cool-down
(`retry_after`) nor beyond its `max_attempts`; some give up on a quiz for now. The ones who finish every lesson and
pass every quiz complete the course. Once a quiz's answers are revealed to them, the questions they got wrong
become review cards, which they review on some days (`course.demo.reviewing`).

Nothing here touches the database: the generator (`course.demo.generator`) reads the course, inserts the learners
and writes the rows this makes for each of them.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from course.content.models import Course, Quiz
from course.demo.reviewing import SimulatedCard, daily_chance, review
from course.progress.completion import QuizResult
from course.quiz.attempts import reveal_level
from course.quiz.grading import grade
from course.quiz.layout import attempt_key, layout

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
    input_kind: str  # how it is answered (its question type's): "text", or picking options ("radio", "checkbox")
    keyed: list[str]  # the right response's option keys (or the first accepted short answer)
    options: list[str]
    difficulty: float
    lure: str | None  # the distractor most wrong answers go to
    wrong_texts: list[str] = field(default_factory=list)


@dataclass
class QuizSim:
    quiz: Quiz  # with its questions and their options: what the layout and the grader read
    questions: dict[int, QuestionSim]  # by question id


@dataclass
class ChapterSim:
    id: int
    reference: bool
    lessons: list[tuple[int, list[int]]]  # (lesson id, workbook prompt ids)
    quiz: QuizSim | None
    opens: datetime


@dataclass
class SimulatedLearner:
    """What one learner did, as rows ready for bulk inserts."""

    user_id: int
    enrolled_at: datetime
    progress: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    workbook: list[dict[str, Any]] = field(default_factory=list)
    completion: dict[str, Any] | None = None  # without its snapshot, which needs the learner's name
    quiz_results: list[QuizResult] = field(default_factory=list)  # for the completion's snapshot
    cards: list[SimulatedCard] = field(default_factory=list)  # review cards, with their reviews


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


NEVER_STARTS = 0.01  # enrolled, never opened a lesson
SLOW_SHARE = 0.2  # read slower than a chapter a week: they slip behind, then catch up
PAUSE = 0.03  # at the start of each chapter: a break of a few days to a few weeks (travel, a launch, illness)


class Simulator:
    def __init__(
        self, rng: random.Random, course: Course, chapters: list[ChapterSim], now: datetime, retention: float
    ) -> None:
        self.rng = rng
        self.course = course
        self.chapters = chapters
        self.now = now
        self.drop_rate = 1 - retention  # of an average learner, over the whole course
        self.total_lessons = sum(len(c.lessons) for c in chapters)
        self.scheduled = [n for n, c in enumerate(chapters) if not c.reference and c.lessons]

    def name(self) -> str:
        if self.rng.random() < 0.15:
            return f"{self.rng.choice(ENGLISH)} {self.rng.choice(FAMILY)}"
        return self.rng.choice(FAMILY) + self.rng.choice(GIVEN)

    def _stop(self, motivation: float) -> tuple[int, int] | None:
        """Where a learner stops for good, as (chapter position, lessons read in it), or None: more often the
        less motivated (the factor's mean is 1), more often in the first two chapters."""
        rng = self.rng
        if not self.scheduled or rng.random() >= self.drop_rate * math.exp(-0.9 * motivation - 0.4):
            return None
        weights = [1.8 if i == 0 else 1.4 if i == 1 else 1.0 for i in range(len(self.scheduled))]
        n = rng.choices(self.scheduled, weights)[0]
        return n, rng.randrange(len(self.chapters[n].lessons))

    def _chapters_behind(self, n: int, t: datetime) -> int:
        """How many scheduled chapters after chapter `n` had opened by `t` (reading chapter n)."""
        return sum(1 for c in self.chapters[n + 1 :] if not c.reference and c.opens <= t)

    def learner(self, cohort_start: datetime, user_id: int) -> SimulatedLearner:
        """What the learner `user_id` (inserted already: their attempts' keys and layouts depend on it) did."""
        rng = self.rng
        enrolled = min(cohort_start - timedelta(days=rng.uniform(0, 14)), self.now - timedelta(hours=1))
        sim = SimulatedLearner(user_id=user_id, enrolled_at=enrolled)
        if rng.random() < NEVER_STARTS:
            return sim
        ability = rng.gauss(0.6, 0.9)
        motivation = rng.gauss(0.0, 1.0)
        ability, stopped_at = self._study(sim, cohort_start, ability, motivation)
        review(rng, sim.cards, ability, daily_chance(rng, motivation), stopped_at or self.now)
        return sim

    def _study(
        self, sim: SimulatedLearner, cohort_start: datetime, ability: float, motivation: float
    ) -> tuple[float, datetime | None]:
        """The learner's lessons, workbook answers, quizzes and completion, into `sim`. Returns their ability at
        the end and when they stopped the course for good (None: they are still going)."""
        rng = self.rng
        stop = self._stop(motivation)
        pace_days = rng.lognormvariate(math.log(0.8), 0.35)  # days between lessons
        if rng.random() < SLOW_SHARE:
            pace_days *= rng.uniform(1.4, 2.0)
        t = max(sim.enrolled_at, cohort_start) + timedelta(hours=rng.uniform(2, 48))
        all_done, time_spent, first_view = True, 0, None
        results: list[QuizResult] = []
        passed_all = True
        for n, chapter in enumerate(self.chapters):
            if not chapter.reference and n > 0 and rng.random() < PAUSE:
                t += timedelta(days=rng.uniform(3, 18))
            chapter_complete = True
            for k, (lesson_id, prompts) in enumerate(chapter.lessons):
                if stop == (n, k):
                    return ability, t
                behind = self._chapters_behind(n, t)
                gap = rng.expovariate(1 / pace_days) * (1 if not behind else 0.6 if behind == 1 else 0.35)
                t += timedelta(days=gap)
                if t < chapter.opens:  # waiting for it: read it within a day or two of its opening
                    t = chapter.opens + timedelta(hours=rng.uniform(1, 30))
                if t >= self.now:
                    return ability, None
                spent = int(min(rng.lognormvariate(math.log(540), 0.5), 1800))
                completed = rng.random() < (0.999 if not chapter.reference else 0.85)
                last_view = t + timedelta(seconds=spent)
                if rng.random() < 0.15:  # came back to it later
                    last_view = min(t + timedelta(days=rng.uniform(0.5, 10)), self.now)
                first_view = first_view or t
                sim.progress.append(
                    {
                        "user_id": sim.user_id,
                        "lesson_id": lesson_id,
                        "course_id": self.course.id,
                        "first_viewed_at": t,
                        "last_viewed_at": last_view,
                        "completed_at": t + timedelta(seconds=spent) if completed else None,
                        "time_spent_seconds": spent if completed else 0,
                    }
                )
                time_spent += spent if completed else 0
                chapter_complete = chapter_complete and completed
                if completed and prompts and rng.random() < 0.35:
                    for prompt_id in prompts:
                        sim.workbook.append(
                            {
                                "user_id": sim.user_id,
                                "prompt_id": prompt_id,
                                "text": rng.choice(WORKBOOK_TEXTS),
                                "created_at": t,
                                "updated_at": t,
                            }
                        )
            all_done = all_done and chapter_complete
            if chapter.quiz is None:
                continue
            if not chapter_complete:
                passed_all = False
                continue
            tries = len(sim.attempts)
            t, best, passed, ability = self._take_quiz(sim, chapter.quiz, t, ability)
            if best is not None:
                results.append(QuizResult(chapter.quiz.quiz, best, len(sim.attempts) - tries))
            passed_all = passed_all and passed
            if t >= self.now:
                return ability, None
        if all_done and passed_all and sim.progress:
            finished = max(p["completed_at"] for p in sim.progress if p["completed_at"])
            finished = max([finished] + [a["submitted_at"] for a, _ in sim.attempts])
            sim.completion = {
                "user_id": sim.user_id,
                "course_id": self.course.id,
                "started_at": first_view,
                "completed_at": finished,
                "time_spent_seconds": time_spent,
                "verification_code": uuid.uuid4().hex,
            }
            sim.quiz_results = results
        return ability, None

    def _take_quiz(self, sim: SimulatedLearner, quiz: QuizSim, t: datetime, ability: float):
        """Attempts at the quiz as its page serves them, at least its cool-down apart, until passed, the last
        allowed attempt, or giving up for now; the review cards its revealed answers make."""
        rng = self.rng
        number, best, passed, failures = 0, None, False, 0
        limit = quiz.quiz.max_attempts or 5
        cool_down = timedelta(seconds=quiz.quiz.retry_after or 0)
        wrong: set[int] = set()  # questions answered wrong that have no card yet
        while number < limit:
            gap = timedelta(hours=rng.uniform(0.2, 30))
            if number:  # a retry: never inside the cool-down; some come back as soon as it ends
                gap = max(gap, cool_down) if rng.random() < 0.7 else cool_down + timedelta(minutes=rng.uniform(1, 20))
            t = t + gap
            if t >= self.now:
                break
            number += 1
            key = attempt_key(sim.user_id, quiz.quiz, number)
            # without `draw` a layout serves every question in the quiz's order: skip hashing its option tokens
            served = layout(sim.user_id, quiz.quiz, key).questions if quiz.quiz.draw else quiz.quiz.questions
            responses = {}
            for question in served:
                q = quiz.questions[question.id]
                right = rng.random() < _sigmoid(1.7 * (ability - q.difficulty))
                keyed = (q.keyed[0] if q.keyed else "") if q.input_kind == "text" else q.keyed
                responses[q.id] = keyed if right else self._wrong(q)
            graded = grade(quiz.quiz, responses, served)
            percent = graded.percent
            passed = percent >= quiz.quiz.pass_mark
            sim.attempts.append(
                (
                    {
                        "user_id": sim.user_id,
                        "quiz_id": quiz.quiz.id,
                        "number": number,
                        "submission_key": key,
                        "submitted_at": t,
                        "score": graded.score,
                        "max_score": graded.maximum,
                        "percent": percent,
                        "pass_mark": quiz.quiz.pass_mark,
                        "passed": passed,
                        "content_version": quiz.quiz.version,
                    },
                    graded.answers,
                )
            )
            wrong.update(answer["question_id"] for answer in graded.answers if not answer["correct"])
            left = None if quiz.quiz.max_attempts is None else quiz.quiz.max_attempts - number
            if wrong and reveal_level(quiz.quiz, passed, left) == "full":  # as `review.make_cards` on each attempt
                for question_id in sorted(wrong):
                    difficulty = quiz.questions[question_id].difficulty
                    sim.cards.append(SimulatedCard.new(sim.user_id, question_id, difficulty, t))
                wrong.clear()
            best = percent if best is None else max(best, percent)
            if passed:
                break
            failures += 1
            ability += rng.uniform(0.4, 0.8)  # they re-read the chapter
            if rng.random() > (0.97, 0.92, 0.85)[min(failures, 3) - 1]:
                break  # gave up on it for now
        return t, best, passed, ability

    def _wrong(self, q: QuestionSim) -> Any:
        rng = self.rng
        if q.input_kind == "text":
            return rng.choice(q.wrong_texts) if q.wrong_texts else rng.choice(VAGUE_TEXT_ANSWERS)
        distractors = [o for o in q.options if o not in q.keyed]
        if q.input_kind == "checkbox":  # several options: drop a right one or add a lure
            if len(q.keyed) > 1 and rng.random() < 0.6:
                dropped = rng.choice(q.keyed)
                return sorted(k for k in q.keyed if k != dropped)
            return sorted(set(q.keyed) | {q.lure or rng.choice(distractors)}) if distractors else []
        if not distractors:
            return []
        if q.lure and rng.random() < 0.7:
            return [q.lure]
        return [rng.choice(distractors)]
