"""Item statistics of a quiz: facility, discrimination, the strongest learners' choices, and flags raised only
on real evidence, each with its reason (course/dashboard/quizstats.py, course/dashboard/itemflags.py)."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from conftest import RIGHT_ANSWERS, do_login, new_client
from dashboard_factories import add_learner, attempt, make_cohort

from course.cohorts.models import Cohort
from course.dashboard.coursemap import load_course_map
from course.dashboard.itemflags import clearly_more, flags_for, significantly_negative, upper_group_size
from course.dashboard.quizstats import OptionStat, QuestionStat, quiz_stats
from course.db_types import utcnow
from course.extensions import db as _db


@pytest.fixture
def staff(app, make_user):
    teacher = make_user(email="teacher@example.com", role="instructor", name="Teacher")
    client = new_client(app)
    assert do_login(client, teacher.email).status_code == 302
    return client, teacher


def _stats(app, cohort_id, quiz_key="intro-quiz"):
    with app.test_request_context(method="POST"):  # POST: a request that writes (see course.sql)
        cohort = _db.session.get(Cohort, cohort_id)
        return quiz_stats(cohort, load_course_map(cohort).quiz_by_key(quiz_key))


def test_a_question_the_strongest_get_wrong_is_flagged_with_its_reasons(app, loaded_course, staff):
    """Twenty learners' first attempts at the intro quiz (learner i is stronger as i grows): the twelve strongest
    choose the same wrong option of q1, so among the top 27 % (six learners) the wrong answer beats the key, and
    q1's discrimination is strongly negative. q3, right for everyone, is not flagged."""
    client, teacher = staff
    cohort_id = make_cohort(app, [teacher.id], name="Item analysis")
    now = utcnow()
    table = []  # per learner: correct or not for q1..q4
    for i in range(20):
        uid = add_learner(app, cohort_id, f"L{i:02d}")
        strong = i >= 10
        answers = {
            "intro-q1": "b" if i >= 8 else "a",  # keyed a
            "intro-q2": ["a", "b"] if strong else ["a"],
            "intro-q3": "false",
            "intro-q4": "fine-tuning" if strong else ("pre-training" if i % 2 else "Pre-Training"),
        }
        attempt(app, uid, "intro-quiz", answers, now - timedelta(days=2))
        if i < 3:  # second attempts, all right, must not count
            attempt(app, uid, "intro-quiz", RIGHT_ANSWERS["intro-quiz"], now - timedelta(days=1))
        table.append([i < 8, strong, True, strong])

    s = _stats(app, cohort_id)
    assert s.attempts == 20 and s.upper_group == 6  # 27 % of 20, rounded up
    q1, q2, q3, q4 = s.questions
    assert [q.responses for q in s.questions] == [20] * 4
    assert (q1.facility, q2.facility, q3.facility, q4.facility) == (0.4, 0.5, 1.0, 0.5)

    def expected_discrimination(k: int) -> float:
        x = [1.0 if row[k] else 0.0 for row in table]
        rest = [(sum(row) - row[k]) / 3 for row in table]
        return statistics.correlation(x, rest)

    for k, q in ((0, q1), (1, q2), (3, q4)):
        assert q.discrimination == pytest.approx(expected_discrimination(k))
    assert q3.discrimination is None  # no variance: everyone right
    assert {o.key: o.chosen for o in q1.options} == {"a": 8, "b": 12, "c": 0}
    assert {o.key: o.chosen_upper for o in q1.options} == {"a": 0, "b": 6, "c": 0}  # the six strongest: b
    assert [o.key for o in q1.lures] == ["b"]
    assert {o.key: o.chosen_upper for o in q2.options} == {"a": 6, "b": 6, "c": 0}

    assert [(f.kind, f.evidence) for f in q1.flags] == [
        ("miskeyed", "strong_chose_wrong"),
        ("miskeyed", "negative_discrimination"),
    ]
    assert q1.flags[0].option == "Its colour" and q1.flags[0].key == "Its scale"
    assert (q1.flags[0].group, q1.flags[0].option_chosen, q1.flags[0].key_chosen) == (6, 6, 0)
    assert q2.flags == [] and q3.flags == [] and q4.flags == []  # q3: everyone right is not a problem
    assert s.flagged == 1

    html = client.get(f"/cohorts/{cohort_id}/dashboard/quizzes/intro-quiz").get_data(as_text=True)
    assert "possibly miskeyed" in html and "too easy" not in html
    assert "Of the 6 strongest learners (the top 27% by first-attempt score), 6 chose the wrong answer" in html
    assert "“Its colour” and only 0 the correct answer “Its scale”." in html
    assert "significantly below zero" in html and "first attempt" in html
    assert "at least 20 learners have answered it" in html  # the rule, in the page's note
    assert "6 of 6" in html  # the strongest learners' column
    quizzes = client.get(f"/cohorts/{cohort_id}/dashboard/quizzes").get_data(as_text=True)
    assert f"/cohorts/{cohort_id}/dashboard/quizzes/intro-quiz" in quizzes
    assert f"/cohorts/{cohort_id}/dashboard/quizzes/launch-quiz" in quizzes


def test_a_question_98_percent_get_right_is_not_flagged(app, loaded_course, staff):
    """Fifty learners; the one who gets q3 wrong is among the strongest on the rest, so its discrimination is
    below zero: noise, not evidence. The old rules flagged it "too easy" and "possibly miskeyed"."""
    client, teacher = staff
    cohort_id = make_cohort(app, [teacher.id], name="Easy question")
    now = utcnow()
    for i in range(50):
        uid = add_learner(app, cohort_id, f"E{i:02d}")
        answers = dict(RIGHT_ANSWERS["intro-quiz"])
        if i % 3 == 0:
            answers["intro-q2"] = ["a"]
        if i % 4 == 0:
            answers["intro-q4"] = "pre-training"
        if i == 1:  # strong otherwise (q2 and q4 right), and wrong on q3
            answers["intro-q3"] = "true"
        attempt(app, uid, "intro-quiz", answers, now - timedelta(hours=50 - i))
    s = _stats(app, cohort_id)
    q3 = s.questions[2]
    assert q3.responses == 50 and q3.facility == pytest.approx(0.98)
    assert q3.discrimination is not None and q3.discrimination < 0
    assert q3.flags == [] and s.flagged == 0
    html = client.get(f"/cohorts/{cohort_id}/dashboard/quizzes/intro-quiz").get_data(as_text=True)
    assert "possibly miskeyed" not in html.split("How these statistics are computed")[0]
    assert 'class="badge badge-flag"' not in html


def test_too_few_answers_flag_nothing(app, loaded_course, staff):
    client, teacher = staff
    cohort_id = make_cohort(app, [teacher.id], name="Small")
    for i in range(19):  # one short of the minimum, every one of them strongly against the key
        uid = add_learner(app, cohort_id, f"S{i:02d}")
        answers = {**RIGHT_ANSWERS["intro-quiz"], "intro-q1": "b" if i >= 8 else "a"}
        if i < 8:
            answers["intro-q2"] = ["a"]
        attempt(app, uid, "intro-quiz", answers, utcnow() - timedelta(hours=i + 1))
    s = _stats(app, cohort_id)
    assert s.questions[0].responses == 19 and s.questions[0].discrimination < -0.5
    assert all(q.flags == [] for q in s.questions)


# -- the rules, on numbers ---------------------------------------------------------------------------------
def question(responses, correct, discrimination=None, upper=0, options=()):
    q = QuestionStat(1, "q", "single", "A question?", 1, responses=responses, correct=correct)
    q.discrimination, q.upper_responses = discrimination, upper
    q.options = [OptionStat(key, text, keyed, chosen_upper=n) for key, text, keyed, n in options]
    return q


def test_a_sign_test_separates_a_preference_from_a_coin_toss():
    assert clearly_more(6, 0) and clearly_more(7, 1) and clearly_more(15, 5)
    assert not clearly_more(9, 7) and not clearly_more(5, 3) and not clearly_more(4, 0) and not clearly_more(3, 3)


def test_the_upper_group_is_27_percent_rounded_up():
    assert [upper_group_size(n) for n in (0, 1, 4, 20, 100, 101)] == [0, 1, 2, 6, 27, 28]


@pytest.mark.parametrize(
    "r, n, expected",
    [(-0.25, 20, False), (-0.4, 20, True), (-0.25, 100, True), (-0.1, 1000, True), (0.3, 100, False)],
)
def test_a_negative_discrimination_is_significant_by_fishers_z(r, n, expected):
    assert significantly_negative(r, n) is expected


@pytest.mark.parametrize(
    "q, kinds",
    [
        # 98 % right, a slightly negative discrimination: nothing
        (question(50, 49, -0.02, 14, [("a", "A", True, 14), ("b", "B", False, 0)]), []),
        # 98 % right and one strong learner's slip makes it strongly negative: still nothing (one wrong answer)
        (question(50, 49, -0.45, 14, [("a", "A", True, 13), ("b", "B", False, 1)]), []),
        # negative, but not significantly at n = 20
        (question(20, 10, -0.25, 6, [("a", "A", True, 4), ("b", "B", False, 2)]), []),
        # negative and significant
        (question(100, 50, -0.25, 27, [("a", "A", True, 20), ("b", "B", False, 7)]), ["miskeyed"]),
        # significant, but above the −0.2 bar
        (question(1000, 500, -0.1, 270, [("a", "A", True, 200), ("b", "B", False, 70)]), []),
        # a wrong option clearly beats the key among the strongest (7 to 1)
        (question(30, 15, 0.1, 9, [("a", "A", True, 1), ("b", "B", False, 7), ("c", "C", False, 1)]), ["miskeyed"]),
        # 5 to 3, or a tie, among the strongest is a coin toss, not evidence
        (question(30, 15, 0.1, 9, [("a", "A", True, 3), ("b", "B", False, 5), ("c", "C", False, 1)]), []),
        (question(30, 15, 0.1, 9, [("a", "A", True, 4), ("b", "B", False, 4), ("c", "C", False, 1)]), []),
        # fewer than 20 % right
        (question(40, 7, 0.3, 11, [("a", "A", True, 6), ("b", "B", False, 5)]), ["too_hard"]),
        # the same numbers from 19 learners: nothing yet
        (question(19, 3, -0.9, 6, [("a", "A", True, 0), ("b", "B", False, 6)]), []),
    ],
)
def test_flags_need_real_evidence(q, kinds):
    assert sorted({f.kind for f in flags_for(q)}) == kinds
