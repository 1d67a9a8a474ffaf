"""An attempt's layout: which questions it serves, in which order each shows its options, and the opaque token
each option carries in the page — derived from a keyed hash, so nothing needs storing.

The seed of an attempt is HMAC(SECRET_KEY, "layout:user:quiz:submission key"). From it:
- the questions served: all of them, or with the quiz's `draw: N` the N that rank first by HMAC(seed, question
  id), taking first the best-ranked question of each `group` so every group is represented; served in the quiz's
  order;
- each option's token: the first 12 hex digits of HMAC(seed, question id + option id). A page shows only tokens
  (no option id, so no "a is right" pattern), and the options in the order of their tokens (a true/false question
  keeps true, false: its type does not shuffle).

The quiz page's `submission_key` is itself derived from (user, quiz, attempt number) (`attempt_key`): a reload
shows the same attempt with the same order, the next attempt a new one. It is the only key accepted for that
attempt: a key of the learner's choosing would let them choose their layout (fish for an easy `draw`), so any other
is refused as a stale page. Grading computes the layout again from the submitted key and maps the tokens back to
option ids: a replayed submission is graded against its own order, and a token that is not in the layout is an
invalid answer (never a 500). The answers an attempt records are the questions it served, which is what item
statistics count per question.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app

from course.content.models import Question, Quiz
from course.content.question_types import question_type

TOKEN_LENGTH = 12
# What a value that is not one of the question's tokens becomes: an option id no question has.
UNKNOWN_OPTION = "\x00unknown"
LAYOUTS_KEPT = 256  # the most recently used layouts: a quiz page and its submission compute one once


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _secret() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode()


def attempt_key(user_id: int, quiz: Quiz, number: int, secret: bytes | None = None) -> str:
    """The submission key the quiz page gives the learner's attempt `number`: the same on every reload, and the
    only key an attempt with that number is recorded under (`attempts.record`)."""
    return _mac(secret or _secret(), f"attempt:{user_id}:{quiz.id}:{number}")[:32]


class Choice(NamedTuple):
    token: str
    text: str


class ServedQuestion(NamedTuple):
    question: Question
    choices: list[Choice]  # in this attempt's order; none for a short answer


@dataclass(frozen=True)
class Layout:
    key: str
    questions: list[Question]  # served, in the quiz's order
    tokens: dict[int, dict[str, str]]  # question id → option id → token, in the order shown

    def read_values(self, question: Question, values: list[str]) -> list[str]:
        """The option ids the submitted tokens name (a question without options takes its values as typed)."""
        tokens = self.tokens.get(question.id)
        if not tokens:
            return values
        by_token = {token: key for key, token in tokens.items()}
        return [by_token.get(value, UNKNOWN_OPTION) if value != "" else "" for value in values]

    def token(self, question: Question, option_key: str) -> str:
        return self.tokens[question.id][option_key]

    def served(self, options: dict[int, dict[str, str]] | None = None) -> list[ServedQuestion]:
        """The questions with their options' texts (in the reader's language) in this attempt's order; `options`:
        the texts already looked up (question id → option key → text), as the quiz page keeps them."""
        result = []
        for question in self.questions:
            if options is not None:
                texts = options[question.id]
            else:
                texts = {shown.key: shown.text for shown in question_type(question.type).shown_options(question)}
            tokens = self.tokens.get(question.id, {})
            result.append(ServedQuestion(question, [Choice(token, texts[key]) for key, token in tokens.items()]))
        return result


# (quiz, its version and draw, user id, submission key, secret) → its layout. A layout is a function of these alone
# (the quiz object is the content cache's, replaced when the content changes), so a kept one is never stale; it is
# the learner's own order of the page they were served, nothing a page does not show. About 80 µs of HMACs saved.
# An attempt's layout is let go once the attempt is recorded (`forget`): what stays are the pages being answered.
_kept: OrderedDict[tuple, Layout] = OrderedDict()
_lock = threading.Lock()


def layout(user_id: int, quiz: Quiz, key: str, secret: bytes | None = None) -> Layout:
    """The layout of the learner's attempt with submission key `key` (`quiz` with its questions and options),
    keyed with the app's SECRET_KEY (or `secret`)."""
    secret = secret or _secret()
    wanted = (quiz, quiz.version, quiz.draw, user_id, key, secret)
    with _lock:
        found = _kept.get(wanted)
        if found is not None:
            _kept.move_to_end(wanted)
            return found
    made = _layout(user_id, quiz, key, secret)
    with _lock:
        _kept[wanted] = made
        if len(_kept) > LAYOUTS_KEPT:
            _kept.popitem(last=False)
    return made


def forget(user_id: int, quiz: Quiz, key: str) -> None:
    """The attempt with submission key `key` is recorded: its page is answered, its layout no longer needed (a
    replay of it computes it again). A few KB each, which 256 attempts made would otherwise hold."""
    with _lock:
        _kept.pop((quiz, quiz.version, quiz.draw, user_id, key, _secret()), None)


def _layout(user_id: int, quiz: Quiz, key: str, secret: bytes) -> Layout:
    seed = hmac.new(secret, f"layout:{user_id}:{quiz.id}:{key}".encode(), hashlib.sha256).digest()
    questions = draw(list(quiz.questions), quiz.draw, seed)
    tokens: dict[int, dict[str, str]] = {}
    for question in questions:
        mine = {o.key: _mac(seed, f"option:{question.key}:{o.key}")[:TOKEN_LENGTH] for o in question.options}
        if question_type(question.type).shuffles_options:
            mine = dict(sorted(mine.items(), key=lambda item: item[1]))
        tokens[question.id] = mine
    return Layout(key, questions, tokens)


def draw(questions: list[Question], n: int | None, seed: bytes) -> list[Question]:
    """`n` of the questions (all when `n` is None or not smaller), one of each group first, in the quiz's order."""
    if n is None or n >= len(questions):
        return questions
    ranked = sorted(questions, key=lambda q: _mac(seed, f"question:{q.key}"))
    chosen: dict[int, Question] = {}
    groups: set[str] = set()
    for question in ranked:
        if question.draw_group and question.draw_group not in groups and len(chosen) < n:
            groups.add(question.draw_group)
            chosen[question.id] = question
    for question in ranked:
        if len(chosen) >= n:
            break
        chosen.setdefault(question.id, question)
    return sorted(chosen.values(), key=lambda q: q.position)
