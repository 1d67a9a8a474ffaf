"""Question types as a registry of classes keyed by their `type`.

A question's type is part of the content: each type knows how to check its definition in a content file (the
parser asks), which options the learner sees (the quiz page), how to read a response from a submitted form and
how to grade it (`course.quiz.grading`). Nothing else in the code branches on the type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from flask_babel import lazy_gettext as _l

from course.content.i18n import tr
from course.content.short_answer import accepted_problems, matches


class ResponseError(ValueError):
    """A submitted answer that cannot be accepted (unknown option, too many choices …)."""


class OptionLike(Protocol):
    key: str
    correct: bool


@dataclass(frozen=True)
class ShownOption:
    key: str
    text: str


class QuestionType:
    type: ClassVar[str]
    label: ClassVar[Any]
    input_kind: ClassVar[str]  # "radio", "checkbox" or "text": how the form renders it
    takes_accepted_answers: ClassVar[bool] = False  # graded against `accepted` texts (in every language)
    free_text: ClassVar[bool] = False  # a response in the learner's own words: erased with their account
    shuffles_options: ClassVar[bool] = True  # each attempt shows the options in its own order (course.quiz.layout)
    max_text_length: ClassVar[int] = 500

    # -- content validation: yields (location within the question, message)
    def check(self, spec: Any) -> Iterable[tuple[tuple, str]]:
        return ()

    # -- loading: the option rows a question's definition (a QuestionSpec) becomes, as (key, text, correct)
    def stored_options(self, spec: Any) -> list[tuple[str, str, bool]]:
        return [(option.id, option.text, option.correct) for option in spec.options]

    # -- what the learner sees
    def shown_options(self, question: Any) -> Sequence[ShownOption]:
        return [ShownOption(o.key, tr(o, "text")) for o in question.options]

    def correct_response(self, question: Any) -> list[str] | str:
        return [o.key for o in question.options if o.correct]

    # -- reading and grading
    def read(self, question: Any, values: list[str]) -> Any:
        """Turn the submitted form values into the stored response, or raise ResponseError."""
        raise NotImplementedError

    def is_correct(self, question: Any, response: Any) -> bool:
        raise NotImplementedError


class _ChoiceType(QuestionType):
    def read(self, question: Any, values: list[str]) -> list[str]:
        known = {o.key for o in question.options}
        chosen = [v for v in values if v != ""]
        unknown = [v for v in chosen if v not in known]
        if unknown:
            raise ResponseError(_l("An answer names an option that does not exist."))
        return sorted(set(chosen))

    def is_correct(self, question: Any, response: Any) -> bool:
        return sorted(response or []) == sorted(self.correct_response(question))


class SingleChoice(_ChoiceType):
    type = "single"
    label = _l("Single choice")
    input_kind = "radio"

    def check(self, spec: Any) -> Iterable[tuple[tuple, str]]:
        yield from _check_options(spec)
        if spec.options and sum(o.correct for o in spec.options) != 1:
            yield ("options",), "a single-choice question needs exactly one correct option"

    def read(self, question: Any, values: list[str]) -> list[str]:
        response = super().read(question, values)
        if len(response) > 1:
            raise ResponseError(_l("Choose only one answer for a single-choice question."))
        return response


class MultipleChoice(_ChoiceType):
    type = "multiple"
    label = _l("Multiple choice")
    input_kind = "checkbox"

    def check(self, spec: Any) -> Iterable[tuple[tuple, str]]:
        yield from _check_options(spec)
        if spec.options and not any(o.correct for o in spec.options):
            yield ("options",), "a multiple-choice question needs at least one correct option"


class TrueFalse(_ChoiceType):
    type = "true_false"
    label = _l("True or false")
    input_kind = "radio"
    shuffles_options = False  # true, then false: an order that reveals nothing

    def check(self, spec: Any) -> Iterable[tuple[tuple, str]]:
        if spec.answer is None:
            yield ("answer",), "a true_false question needs `answer: true` or `answer: false`"
        if spec.options:
            yield ("options",), "a true_false question has no options (true / false are provided)"
        if spec.accepted:
            yield ("accepted",), "`accepted` is only for short_text questions"

    def stored_options(self, spec: Any) -> list[tuple[str, str, bool]]:
        return [("true", "true", spec.answer is True), ("false", "false", spec.answer is False)]

    def shown_options(self, question: Any) -> Sequence[ShownOption]:
        return [ShownOption("true", str(_l("True"))), ShownOption("false", str(_l("False")))]

    def correct_response(self, question: Any) -> list[str]:
        return [o.key for o in question.options if o.correct]

    def read(self, question: Any, values: list[str]) -> list[str]:
        response = super().read(question, values)
        if len(response) > 1:
            raise ResponseError(_l("Choose either true or false."))
        return response


class ShortText(QuestionType):
    type = "short_text"
    label = _l("Short answer")
    input_kind = "text"
    takes_accepted_answers = True
    free_text = True

    def check(self, spec: Any) -> Iterable[tuple[tuple, str]]:
        if spec.options:
            yield ("options",), "a short_text question has no options; list `accepted` answers"
        if spec.answer is not None:
            yield ("answer",), "`answer` is only for true_false questions"
        if not spec.accepted:
            yield ("accepted",), "a short_text question needs at least one accepted answer"
        for i, message in accepted_problems(spec.accepted):  # the rule: course/content/short_answer.py
            yield ("accepted", i), message

    def shown_options(self, question: Any) -> Sequence[ShownOption]:
        return []

    def correct_response(self, question: Any) -> str:
        """The first accepted answer, as the reader's content language has it (all of them are graded)."""
        accepted = tr(question, "accepted")
        return str(accepted[0]) if accepted else ""

    def read(self, question: Any, values: list[str]) -> str:
        text = (values[-1] if values else "").strip()
        if len(text) > self.max_text_length:
            raise ResponseError(_l("An answer is too long."))
        return text

    def is_correct(self, question: Any, response: Any) -> bool:
        """Right if it matches an accepted answer in any of the course's languages (`short_answer.matches`)."""
        accepted = list(question.accepted)
        for texts in (getattr(question, "i18n", None) or {}).values():
            accepted.extend(texts.get("accepted", []))
        return matches(response or "", accepted)


def _check_options(spec: Any) -> Iterable[tuple[tuple, str]]:
    if len(spec.options) < 2:
        yield ("options",), f"a {spec.type} question needs at least two options"
    if spec.answer is not None:
        yield ("answer",), "`answer` is only for true_false questions"
    if spec.accepted:
        yield ("accepted",), "`accepted` is only for short_text questions"
    seen: dict[str, int] = {}
    for i, option in enumerate(spec.options):
        if option.id in seen:
            yield ("options", i, "id"), f"option id {option.id!r} repeats option {seen[option.id] + 1}"
        seen[option.id] = i


QUESTION_TYPES: dict[str, QuestionType] = {
    cls.type: cls() for cls in (SingleChoice, MultipleChoice, TrueFalse, ShortText)
}


def question_type(name: str) -> QuestionType:
    return QUESTION_TYPES[name]
