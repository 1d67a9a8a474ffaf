"""The schema of the content files (see docs/content-format.md), as pydantic models."""

from __future__ import annotations

import re
import types
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StringConstraints, create_model

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
# When a quiz's result pages show the correct answers and explanations (`course.quiz.attempts.reveal_level`).
Reveal = Literal["after_pass_or_last", "after_each_attempt", "after_pass", "never"]
DURATION = re.compile(r"^([1-9][0-9]{0,5})([smhd])$")
SECONDS_PER = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds_of(duration: str) -> int:
    """`30s`, `10m`, `2h`, `1d` as seconds."""
    match = DURATION.match(duration)
    if match is None:
        raise ValueError(duration)
    return int(match[1]) * SECONDS_PER[match[2]]


MAX_DURATION_DAYS = 365  # a cool-down longer than a year is a typo (and would not fit the database's integer)


def _duration(value: str) -> str:
    if not DURATION.match(value):
        raise ValueError(f"a duration is a whole number and a unit: 30s, 10m, 2h or 1d (got {value!r})")
    if seconds_of(value) > MAX_DURATION_DAYS * SECONDS_PER["d"]:
        raise ValueError(f"a duration is at most {MAX_DURATION_DAYS}d (got {value!r})")
    return value


Duration = Annotated[str, AfterValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Lang = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Za-z]{2,4})?$")]


class TextI18n(_Spec):
    """A module's or chapter's title and summary in another language."""

    title: Title
    summary: str = ""


class CourseI18n(TextI18n):
    author_note: str = ""
    closing: str = ""


class CourseFile(_Spec):
    id: Id
    title: Title
    language: str = "zh-Hans"
    translations: list[Lang] = []  # every item must exist in each of these languages too
    i18n: dict[Lang, CourseI18n] = {}
    summary: str = ""
    keywords: list[Text] = []
    author: str = ""
    author_note: str = ""
    closing: str = ""
    quiz_gate: bool = True
    quiz_reveal: Reveal = "after_pass_or_last"  # the default of every quiz without its own `reveal`


class ModuleFile(_Spec):
    id: Id
    title: Title
    summary: str = ""
    kind: Literal["standard", "reference"] = "standard"
    i18n: dict[Lang, TextI18n] = {}


class ChapterFile(_Spec):
    id: Id
    title: Title
    summary: str = ""
    i18n: dict[Lang, TextI18n] = {}


class WorkbookSpec(_Spec):
    id: Id
    prompt: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class LessonFront(_Spec):
    id: Id
    title: Title
    takeaways: Annotated[list[Text], Field(max_length=8)] = []
    workbook: list[WorkbookSpec] = []


class OptionSpec(_Spec):
    id: OptionId
    text: Text
    correct: bool = False


class QuestionSpec(_Spec):
    id: Id
    type: Literal["single", "multiple", "true_false", "short_text"]
    prompt: Text
    explanation: Text
    lesson: Id | None = None
    points: Annotated[int, Field(ge=1, le=100)] = 1
    options: list[OptionSpec] = []
    answer: bool | None = None
    accepted: list[str] = []
    group: Id | None = None  # with the quiz's `draw`: each group is represented in every attempt


class QuizFile(_Spec):
    id: Id
    title: Title
    pass_mark: Annotated[int, Field(ge=1, le=100)] = 70
    max_attempts: Annotated[int, Field(ge=1)] | None = None
    reveal: Reveal | None = None  # None: the course's `quiz_reveal`
    draw: Annotated[int, Field(ge=1)] | None = None  # serve N of the questions per attempt
    retry_after: Duration | None = None  # the cool-down between two attempts
    questions: Annotated[list[QuestionSpec], Field(min_length=1)]


class LessonTranslation(_Spec):
    """`NN-name.<lang>.md`: the same lesson in another language, with the same ids."""

    id: Id
    title: Title
    takeaways: Annotated[list[Text], Field(max_length=8)] = []
    workbook: list[WorkbookSpec] = []


class OptionTranslation(_Spec):
    id: OptionId
    text: Text


class QuestionTranslation(_Spec):
    id: Id
    prompt: Text
    explanation: Text
    options: list[OptionTranslation] = []
    accepted: list[str] = []


class QuizTranslation(_Spec):
    """`quiz.<lang>.yaml`: the texts of a quiz in another language; answers and settings stay in quiz.yaml."""

    id: Id
    title: Title
    questions: Annotated[list[QuestionTranslation], Field(min_length=1)]


# -- a file with schema errors, read as far as it goes ---------------------------------------------------
S = TypeVar("S", bound=_Spec)


class _Lenient(BaseModel):
    # The places (paths of keys and indexes) whose values had a schema error and were left out.
    _unread: frozenset[tuple] = PrivateAttr(default=frozenset())


@cache
def lenient(model: type[S]) -> type[S]:
    """`model` as `check` reads a file with schema errors, so that the other rules still run on the rest: the
    same fields without their constraints, a required field None when it is missing or wrong, nested specs
    lenient too. The parser leaves the wrong values out first (a wrong optional field takes its default) and
    records their places (`unread`). A file read this way has problems, so it is never loaded."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _lenient_type(info.annotation)
        fields[name] = (annotation | None, None) if info.is_required() else (annotation, info.default)
    return create_model(f"Lenient{model.__name__}", __base__=(model, _Lenient), **fields)  # type: ignore[call-overload]


def _lenient_type(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, _Spec):
        return lenient(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:  # the constraints go: the values that break them were left out already
        return _lenient_type(args[0])
    if origin is list:
        return list[_lenient_type(args[0])]  # type: ignore[misc]
    if origin is dict:
        return dict[_lenient_type(args[0]), _lenient_type(args[1])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        return Union[tuple(_lenient_type(arg) for arg in args)]  # noqa: UP007
    return annotation


def with_unread(spec: S, places: frozenset[tuple]) -> S:
    spec._unread = places  # type: ignore[attr-defined]
    return spec


def stand_in(model: type[S]) -> S:
    """The spec of a file that could not be read at all: nothing in it is readable."""
    return with_unread(lenient(model)(), frozenset({()}))


def readable(spec: BaseModel, *place: str | int, inside: bool = True) -> bool:
    """Whether the part of `spec` at `place` was read as written: no schema error at it or around it, nor
    (with `inside`) anywhere inside it. A rule that needs a part with an error waits until it is fixed."""
    for wrong in getattr(spec, "_unread", ()):
        common = min(len(wrong), len(place))  # one place is inside the other if they agree this far
        if wrong[:common] == place[:common] and (inside or len(wrong) <= len(place)):
            return False
    return True
