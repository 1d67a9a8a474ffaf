"""The API's requests and responses as pydantic models: spectree validates them and writes the OpenAPI document
from them. Times are ISO 8601 with their offset, always UTC (`2026-12-05T04:00:00+00:00`); dates are `YYYY-MM-DD`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, PlainSerializer, WithJsonSchema


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-12-05T04:00:00+00:00"]}),
]
Key = Annotated[str, Field(min_length=1, max_length=64)]


class Problem(BaseModel):
    """An error (RFC 9457)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`about:blank`, or `urn:founder-course:problem:<name>` (docs/API.md)")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str


# -- queries --------------------------------------------------------------------------------------------------
LANG = Field(
    default=None,
    max_length=35,
    pattern=r"^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$",
    description="The content's language (`en`, `zh-Hans`); without it, the Accept-Language header's",
)


class PageQuery(BaseModel):
    page: int = Field(default=1, ge=1, le=100_000, description="The page, from 1")
    per_page: int = Field(default=20, ge=1, le=100, description="Items per page (at most 100)")


class LangQuery(BaseModel):
    lang: str | None = LANG


class PageLangQuery(PageQuery):
    lang: str | None = LANG


class UsersQuery(PageQuery):
    role: Literal["learner", "instructor", "admin"] | None = None


class PageInfo(BaseModel):
    page: int
    per_page: int
    total: int = Field(description="Items on every page together")
    next: str | None = Field(description="The next page's URL, or null on the last page")


# -- the catalogue and outlines -------------------------------------------------------------------------------
class CourseSummary(BaseModel):
    key: str
    title: str
    summary: str
    language: str = Field(description="The language of the texts served: `en` or the course's own")
    items_total: int = Field(description="Lessons and quizzes: what progress counts")


class CoursePage(PageInfo):
    items: list[CourseSummary]


class LessonRef(BaseModel):
    key: str
    title: str


class QuizRef(BaseModel):
    key: str
    title: str
    pass_mark: int
    max_attempts: int | None


class OutlineChapter(BaseModel):
    key: str
    title: str
    lessons: list[LessonRef]
    quiz: QuizRef | None


class OutlineModule(BaseModel):
    key: str
    title: str
    kind: str
    chapters: list[OutlineChapter]


class CourseOutline(CourseSummary):
    modules: list[OutlineModule]


# -- the caller -----------------------------------------------------------------------------------------------
class Me(BaseModel):
    id: int
    name: str
    email: str
    role: Literal["learner", "instructor", "admin"]
    scopes: list[str] = Field(description="The scopes this token grants, as the role allows today")
    token_expires_at: Timestamp


class LessonProgress(BaseModel):
    key: str
    started: bool
    completed_at: Timestamp | None
    time_spent_seconds: int


class QuizProgress(BaseModel):
    key: str
    attempts: int
    attempts_left: int | None
    best_percent: float | None
    passed: bool


class ChapterProgress(BaseModel):
    key: str
    percent: int = Field(ge=0, le=100)
    completed: bool
    locked: bool
    opens_on: date | None = Field(description="While locked: when the cohort's schedule opens it")
    lessons: list[LessonProgress]
    quiz: QuizProgress | None


class Progress(BaseModel):
    course_key: str
    percent: int = Field(ge=0, le=100)
    items_done: int
    items_total: int
    started: bool
    completed: bool
    chapters: list[ChapterProgress]


class Answer(BaseModel):
    question_key: str
    position: int
    correct: bool
    points: float
    max_points: float
    response: str | list[str] = Field(description="The learner's own answer: option keys, or the text typed")
    correct_response: str | list[str] | None = Field(description="Only once the reveal policy shows answers")
    explanation: str | None = Field(description="Only once the reveal policy shows answers")


class AttemptOut(BaseModel):
    number: int
    submitted_at: Timestamp
    score: float
    max_score: float
    percent: float
    pass_mark: int
    passed: bool
    reveal: Literal["score", "correctness", "full"] = Field(
        description="What the quiz's reveal policy shows now: the score only; which answers were right; or "
        "also the correct answers and explanations"
    )
    answers: list[Answer] | None = Field(description="null while the policy shows the score only")


class AttemptPage(PageInfo):
    items: list[AttemptOut]


class WorkbookEntry(BaseModel):
    lesson_key: str
    prompt_key: str
    prompt: str
    answer: str
    updated_at: Timestamp


class Workbook(BaseModel):
    course_key: str
    items: list[WorkbookEntry]


class CompletionOut(BaseModel):
    course_key: str
    completed: bool
    completed_at: Timestamp | None
    withdrawn: bool
    verification_url: str | None


# -- staff ----------------------------------------------------------------------------------------------------
class Cohort(BaseModel):
    id: int
    name: str
    course_key: str
    starts_on: date
    ends_on: date
    capacity: int | None
    enrolled: int
    enrol_opens_on: date | None
    enrol_closes_on: date | None


class CohortPage(PageInfo):
    items: list[Cohort]


class Overview(BaseModel):
    """The dashboard's headline numbers."""

    enrolled: int
    started: int
    completed: int
    active_last_7_days: int
    average_percent: float | None
    median_percent: float | None
    average_best_quiz_percent: float | None


class CohortDetail(Cohort):
    overview: Overview


class RosterEntry(BaseModel):
    user_id: int
    name: str
    email: str
    enrolled_at: Timestamp
    source: str
    percent: int = Field(ge=0, le=100)
    items_done: int
    items_total: int
    last_active_at: Timestamp | None
    completed_at: Timestamp | None


class RosterPage(PageInfo):
    items: list[RosterEntry]


class LearnerProgress(BaseModel):
    cohort_id: int
    user_id: int
    name: str
    progress: Progress


class EnrolmentIn(BaseModel):
    email: EmailStr = Field(max_length=254, description="The learner's address: an unknown one gets a new account")
    name: str | None = Field(
        default=None, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$", description="For a new account"
    )
    language: str | None = Field(default=None, max_length=20, description="For a new account: `en`, `zh_Hans`")


class EnrolmentOut(BaseModel):
    cohort_id: int
    user_id: int
    enrolled_at: Timestamp
    source: str
    emailed: bool = Field(description="Whether the learner was emailed their invitation now")


class UserOut(BaseModel):
    id: int
    name: str
    email: str
    role: Literal["learner", "instructor", "admin"]
    active: bool
    deleted: bool
    created_at: Timestamp
    last_login_at: Timestamp | None


class UserPage(PageInfo):
    items: list[UserOut]
