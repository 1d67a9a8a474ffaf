"""Simulated spaced review for the demo data, as the real app records it (course/progress/review.py).

A card is made for every question a learner answered wrong in any attempt at a quiz, once the quiz's answers are
revealed to them (`reveal_level` "full"), at the time of the attempt that revealed them, due then. From then until
now (or until they stop the course for good) the learner reviews on some days — the more motivated, the more often;
some never do — every card due that day. Each review is right with a probability from their ability and the
question's difficulty that rises with each review of the card, and is rated with the real scheduler (`SCHEDULER`):
right → Good, wrong → Again, exactly as `review.answer` does.

Nothing here touches the database: the cards and their reviews are rows for the generator's bulk inserts.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fsrs import Card, Rating, State

from course.progress.review import SCHEDULER

NEVER_REVIEWS = 0.25  # of an average learner: never opens the Review page


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


@dataclass
class SimulatedCard:
    """One review card with the reviews it had: its row and its logs' rows (without the card's id)."""

    user_id: int
    question_id: int
    difficulty: float
    created_at: datetime
    card: Card
    reps: int = 0
    lapses: int = 0
    interval_days: int = 0
    last_reviewed_at: datetime | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def new(cls, user_id: int, question_id: int, difficulty: float, at: datetime) -> SimulatedCard:
        """A card as `review.make_cards` makes it: due at once."""
        return cls(user_id, question_id, difficulty, at, Card(card_id=question_id, due=at))

    def review(self, correct: bool, at: datetime, key: str) -> None:
        """Rate a review as `review.answer` does and reschedule the card."""
        rating = Rating.Good if correct else Rating.Again
        before = self.card
        self.card, _log = SCHEDULER.review_card(before, rating, review_datetime=at)
        self.interval_days = max(0, round((self.card.due - at) / timedelta(days=1)))
        self.reps += 1
        self.lapses += 0 if correct or before.state != State.Review else 1
        self.last_reviewed_at = at
        self.logs.append(
            {
                "user_id": self.user_id,
                "question_id": self.question_id,
                "submission_key": key,
                "rating": int(rating),
                "correct": correct,
                "interval_days": self.interval_days,
                "reviewed_at": at,
            }
        )

    def row(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "question_id": self.question_id,
            "state": self.card.to_dict(),
            "due": self.card.due,
            "interval_days": self.interval_days,
            "reps": self.reps,
            "lapses": self.lapses,
            "created_at": self.created_at,
            "last_reviewed_at": self.last_reviewed_at,
        }


def daily_chance(rng: random.Random, motivation: float) -> float:
    """How likely the learner is to review on a given day: 0 for one who never does (more of the less motivated)."""
    if rng.random() < NEVER_REVIEWS * math.exp(-0.8 * motivation - 0.3):
        return 0.0
    return min(0.9, rng.uniform(0.4, 1.0) * _sigmoid(0.9 * motivation - 0.3))


def review(rng: random.Random, cards: list[SimulatedCard], ability: float, chance: float, until: datetime) -> None:
    """The learner's reviews of `cards` from the first card's day until `until`: on a day they review (`chance`),
    they answer every card due then."""
    if not cards or chance <= 0:
        return
    first = min(card.created_at for card in cards)
    day = first.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < until:
        if rng.random() < chance:
            at = day + timedelta(hours=rng.uniform(7, 23.5))
            if at >= until:
                break
            for card in cards:
                if card.card.due <= at:
                    right = rng.random() < _sigmoid(1.7 * (ability - card.difficulty) - 0.3 + 0.6 * card.reps)
                    card.review(right, at, f"{rng.getrandbits(128):032x}")
        day += timedelta(days=1)
