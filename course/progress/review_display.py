"""A review card as the page shows it: the options freshly shuffled each time, under values that reveal nothing.

Each showing of a card gets a random `nonce`. An option's value in the page is a keyed hash (HMAC-SHA256 under
SECRET_KEY) of the nonce, the question and the option's key, and the options are shown in the order of those
values: a new order each time, and nothing in the HTML names an option's key or its position in the content. The
form carries a signed token (itsdangerous) with the learner, the card and the nonce; the server checks it and maps
the values back by hashing the question's options again. The nonce is also the review's `submission_key`: a form
sent twice counts once (course/progress/review.py, `answer`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

from course.content.models import Question
from course.content.question_types import ResponseError, ShownOption, question_type
from course.progress.review import ReviewError

SALT = "review-display"
MAX_AGE = 24 * 3600  # a page left open longer is reloaded before it is answered
ANSWER_FIELD = "answer"  # the form field of the answer
DISPLAY_FIELD = "review_display"  # the form field of the signed token


@dataclass(frozen=True)
class Display:
    token: str
    nonce: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def new_display(user_id: int, card_id: int) -> Display:
    nonce = secrets.token_urlsafe(12)
    return Display(_serializer().dumps({"u": user_id, "c": card_id, "n": nonce}), nonce)


def read_display(token: str, user_id: int, card_id: int) -> Display:
    """The display a submitted token names, checked against the learner and the card; else ReviewError."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except SignatureExpired as exc:
        raise ReviewError(_("This review was opened too long ago. Here it is again.")) from exc
    except BadSignature as exc:
        raise ReviewError(_("This form is incomplete; please reload the review.")) from exc
    if not isinstance(data, dict) or data.get("u") != user_id or data.get("c") != card_id:
        raise ReviewError(_("This form is incomplete; please reload the review."))
    nonce = data.get("n")
    if not isinstance(nonce, str) or not nonce:
        raise ReviewError(_("This form is incomplete; please reload the review."))
    return Display(token, nonce)


def _value(nonce: str, question: Question, key: str) -> str:
    message = f"review-option:{nonce}:{question.id}:{key}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()[:16]


def shown_options(question: Question, nonce: str) -> list[ShownOption]:
    """The question's options as this display shows them: opaque values, in a fresh order."""
    shown = [
        ShownOption(_value(nonce, question, o.key), o.text)
        for o in question_type(question.type).shown_options(question)
    ]
    return sorted(shown, key=lambda option: option.key)


def read_answer(question: Question, nonce: str, form: MultiDict) -> Any:
    """The stored response (option keys, or the text typed) from the submitted form; ResponseError if there is
    none or it names no option of this display."""
    qtype = question_type(question.type)
    values = form.getlist(ANSWER_FIELD)
    if qtype.input_kind != "text":
        keys = {_value(nonce, question, o.key): o.key for o in question.options}
        if any(value not in keys for value in values if value):
            raise ResponseError(_("An answer names an option that does not exist."))
        values = [keys[value] for value in values if value]
    response = qtype.read(question, values)
    if not response:
        raise ResponseError(_("Please answer this question."))
    return response
