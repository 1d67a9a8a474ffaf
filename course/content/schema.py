"""The schema of the content files (see docs/content-format.md), as pydantic models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
OptionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


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


class QuizFile(_Spec):
    id: Id
    title: Title
    pass_mark: Annotated[int, Field(ge=1, le=100)] = 70
    max_attempts: Annotated[int, Field(ge=1)] | None = None
    reveal: Literal["after_each_attempt", "after_pass", "never"] = "after_each_attempt"
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
