"""What a person does in the browser (log in, register, answer a quiz), and what the tests read back from the
database (the right answers) or from axe-core (accessibility violations)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from course.content.models import Course, Question, Quiz

from .conftest import Account, Site

# Every browser test imports `expect` from here: without Playwright, each module is skipped and says why.
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: pip install -e .[dev]").expect
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Best practices run with the WCAG rules: landmarks named alike (two regions called "Answers") can't be told apart.
BEST_PRACTICES = ["landmark-unique"]
PHONE = {"width": 390, "height": 844}  # a phone's screen, in CSS pixels
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


# -- accounts ------------------------------------------------------------------------------------------------
def register(page: Any, name: str, email: str, password: str, path: str = "/register") -> None:
    page.goto(path)
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#confirm", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".flash-success").first).to_be_visible()


def login(page: Any, account: Account, path: str = "/login") -> None:
    """Log in as a person does: the password, then (with two-step login) the code the app shows."""
    page.goto(path)
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    page.locator("main form button[type=submit]").click()
    if account.one_time_code is not None:
        page.wait_for_url("**/login/code")
        page.fill("#code", account.one_time_code())
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


# -- quizzes ------------------------------------------------------------------------------------------------
def quiz_answers(site: Site, course_key: str, quiz_key: str, right: bool = True) -> dict[str, tuple[str, Any]]:
    """Question key → (type, answer) from the database: the keyed options (or the first accepted text) when
    `right`, else a wrong choice for every question. Options are named by their text (a true/false question's by
    `true` / `false`): the page names them by per-attempt tokens (`option_input_id`, `form_from_page`)."""
    answers: dict[str, tuple[str, Any]] = {}
    with site.session() as session:
        quiz = session.scalar(
            select(Quiz).join(Course, Course.id == Quiz.course_id).where(Course.key == course_key, Quiz.key == quiz_key)
        )
        live = select(Question).where(Question.quiz_id == quiz.id, Question.archived_at.is_(None))
        questions = session.scalars(live.order_by(Question.position)).all()
        for q in questions:
            if q.type == "short_text":
                answers[q.key] = (q.type, q.accepted[0] if right else "something else entirely")
            else:
                options = [o for o in q.options if o.archived_at is None]
                name = (lambda o: o.key) if q.type == "true_false" else (lambda o: o.text)
                keyed = [name(o) for o in options if o.correct]
                wrong = [name(o) for o in options if not o.correct][:1]
                answers[q.key] = (q.type, keyed if right else wrong)
    return answers


def fill_quiz(page: Any, answers: dict[str, tuple[str, Any]]) -> None:
    """Answer as a person does: click the labels of the chosen options, type the short answers."""
    for key, (kind, answer) in answers.items():
        if kind == "short_text":
            page.locator(f"#in-{key}").fill(answer)
        else:
            for option in answer:
                input_id = option_input_id(page, key, kind, option)
                page.locator(f'label[for="{input_id}"]').click()
                expect(page.locator(f"#{input_id}")).to_be_checked()


def option_input_id(page: Any, key: str, kind: str, option: str) -> str:
    """The id of the input of a question's option named by its text (true/false: by `true` / `false`, shown
    in that order)."""
    labels = page.locator(f"#q-{key} .option label")
    if kind == "true_false":
        return labels.nth(0 if option == "true" else 1).get_attribute("for")
    return labels.filter(has_text=re.compile(rf"^\s*{re.escape(option)}\s*$")).first.get_attribute("for")


OPTION_ON_PAGE = re.compile(r'name="([^"]+)" value="([^"]*)"[^>]*>\s*<label for="[^"]+">([^<]*)</label>')


def form_from_page(html: str, answers: dict[str, tuple[str, Any]]) -> list[tuple[str, str]]:
    """The form the quiz page `html` sends for `answers`: its submission key, and each option as its token."""
    import html as entities

    shown: dict[str, list[tuple[str, str]]] = {}
    for name, token, text in OPTION_ON_PAGE.findall(html):
        shown.setdefault(name, []).append((token, entities.unescape(text).strip()))
    pairs = [("submission_key", re.search(r'name="submission_key" value="([^"]+)"', html)[1])]
    for key, (kind, answer) in answers.items():
        if kind == "short_text":
            pairs.append((key, answer))
        elif kind == "true_false":
            pairs += [(key, shown[key][0 if option == "true" else 1][0]) for option in answer]
        else:
            pairs += [(key, next(t for t, text in shown[key] if text == option)) for option in answer]
    return pairs


# -- forms without a page: a browser context's request API, with its cookies and a CSRF token -----------------
def csrf_token(context: Any, path: str = "/courses") -> str:
    html = context.request.get(path).text()
    found = CSRF_INPUT.search(html)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def post_form(context: Any, path: str, form: dict[str, Any], token: str) -> Any:
    response = context.request.post(path, form={**form, "csrf_token": token}, max_redirects=0)
    assert response.status in (200, 302, 303), (path, response.status, response.text()[:500])
    return response


# -- accessibility --------------------------------------------------------------------------------------------
def axe_violations(page: Any, axe_js: Path) -> list[dict[str, Any]]:
    """Run axe-core on the page for WCAG 2.1 A and AA and BEST_PRACTICES; returns its violations (rule id, impact,
    nodes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_js))
    return page.evaluate(
        """async ([tags, extra]) => {
            const rules = Object.fromEntries(extra.map(rule => [rule, {enabled: true}]));
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, rules});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }""",
        [WCAG_TAGS, BEST_PRACTICES],
    )


def describe(label: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{label}: {v['id']} ({v['impact']}) {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['summary']}".replace("\n", " "))
    return "\n".join(lines)
