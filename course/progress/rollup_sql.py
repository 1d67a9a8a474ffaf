"""The SQL of the dashboard's per-learner roll-up (course/progress/rollup.py): plain SQL shared by SQLite and
PostgreSQL (migration 0006 backfilled with its own copy of them, as they were then)."""

from __future__ import annotations

# The quizzes of the current outline of :course_id (the quizzes of chapters and modules not archived).
QUIZZES = """
    SELECT q.id AS quiz_id, q.chapter_id AS chapter_id
    FROM quiz q JOIN chapter c ON c.id = q.chapter_id JOIN module m ON m.id = c.module_id
    WHERE q.course_id = :course_id AND c.course_id = :course_id
      AND q.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
"""

# The current outline of :course_id (course.content.outline, restated in SQL; tests/test_outline.py checks that
# they agree): lessons numbered in course order from 0, and its quizzes.
LESSONS = """
    SELECT l.id AS lesson_id, l.chapter_id AS chapter_id,
           ROW_NUMBER() OVER (ORDER BY m.position, m.id, c.position, c.id, l.position, l.id) - 1 AS pos
    FROM lesson l JOIN chapter c ON c.id = l.chapter_id JOIN module m ON m.id = c.module_id
    WHERE l.course_id = :course_id AND c.course_id = :course_id
      AND l.archived_at IS NULL AND c.archived_at IS NULL AND m.archived_at IS NULL
"""
_OUTLINE_OF = """
lessons AS (LESSONS),
quizzes AS (QUIZZES)"""
OUTLINE = _OUTLINE_OF.replace("LESSONS", LESSONS).replace("QUIZZES", QUIZZES)

# Each learner's results per current quiz, and their totals: the quiz columns of a learner's row.
PER_QUIZ = """
    SELECT a.user_id AS user_id, a.quiz_id AS quiz_id, MAX(CASE WHEN a.passed THEN 1 ELSE 0 END) AS passed,
           MAX(a.number) AS tries, MAX(a.percent) AS best, MAX(a.submitted_at) AS last_at
    FROM {quizzes} q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
    WHERE TRUE {only_a}
    GROUP BY a.user_id, a.quiz_id
"""
QUIZ_TOTALS = """
    SELECT user_id, SUM(passed) AS quizzes_passed,
           SUM(CASE WHEN passed = 0 AND tries >= 2 THEN 1 ELSE 0 END) AS quizzes_failing,
           SUM(best) AS best_sum, COUNT(*) AS best_count, MAX(last_at) AS last_attempt_at
    FROM {per_quiz} per_quiz
    GROUP BY user_id
"""

# One row per learner with any progress in the course or any attempt at one of its quizzes (archived ones
# too, so that a row never has to disappear: it is upserted, never deleted).
STATS = """
WITH{outline},
viewed AS (
    SELECT p.user_id AS user_id, MAX(p.last_viewed_at) AS last_viewed_at
    FROM lesson_progress p
    WHERE p.course_id = :course_id {only_p}
    GROUP BY p.user_id
),
current_lessons AS (
    SELECT p.user_id AS user_id, SUM(CASE WHEN p.completed_at IS NOT NULL THEN 1 ELSE 0 END) AS lessons_done,
           MAX(l.pos) AS furthest_lesson
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE TRUE {only_p}
    GROUP BY p.user_id
),
per_quiz AS ({per_quiz}),
attempts AS ({quiz_totals}),
learners AS (
    SELECT user_id FROM viewed
    UNION
    SELECT a.user_id FROM quiz q JOIN quiz_attempt a ON a.quiz_id = q.id WHERE q.course_id = :course_id {only_a}
)
INSERT INTO learner_course_stats (user_id, course_id, lessons_done, quizzes_passed, quizzes_failing, best_sum,
                                  best_count, furthest_lesson, last_viewed_at, last_attempt_at)
SELECT u.user_id, :course_id, COALESCE(c.lessons_done, 0), COALESCE(a.quizzes_passed, 0),
       COALESCE(a.quizzes_failing, 0), COALESCE(a.best_sum, 0), COALESCE(a.best_count, 0), c.furthest_lesson,
       v.last_viewed_at, a.last_attempt_at
FROM learners u
LEFT JOIN viewed v ON v.user_id = u.user_id
LEFT JOIN current_lessons c ON c.user_id = u.user_id
LEFT JOIN attempts a ON a.user_id = u.user_id
WHERE TRUE
ON CONFLICT (user_id, course_id) DO UPDATE SET
    lessons_done = excluded.lessons_done, quizzes_passed = excluded.quizzes_passed,
    quizzes_failing = excluded.quizzes_failing, best_sum = excluded.best_sum, best_count = excluded.best_count,
    furthest_lesson = excluded.furthest_lesson, last_viewed_at = excluded.last_viewed_at,
    last_attempt_at = excluded.last_attempt_at
"""

# The chapters each learner has complete: as many of its items (current lessons completed, current quiz
# passed) as the chapter has.
CHAPTERS = """
WITH{outline},
chapters AS (
    SELECT chapter_id, COUNT(*) AS items
    FROM (SELECT chapter_id FROM lessons UNION ALL SELECT chapter_id FROM quizzes) outline_items
    GROUP BY chapter_id
),
items AS (
    SELECT p.user_id AS user_id, l.chapter_id AS chapter_id
    FROM lessons l JOIN lesson_progress p ON p.lesson_id = l.lesson_id
    WHERE p.completed_at IS NOT NULL {only_p}
    UNION ALL
    SELECT user_id, chapter_id
    FROM (SELECT DISTINCT a.user_id AS user_id, a.quiz_id AS quiz_id, q.chapter_id AS chapter_id
          FROM quizzes q JOIN quiz_attempt a ON a.quiz_id = q.quiz_id
          WHERE a.passed {only_a}) passed
),
complete AS (
    SELECT i.user_id AS user_id, i.chapter_id AS chapter_id
    FROM items i JOIN chapters c ON c.chapter_id = i.chapter_id
    GROUP BY i.user_id, i.chapter_id, c.items
    HAVING COUNT(*) >= c.items
){removed}
INSERT INTO learner_chapter_done (user_id, chapter_id, course_id)
SELECT user_id, chapter_id, :course_id
FROM complete
WHERE TRUE
ON CONFLICT (user_id, chapter_id) DO NOTHING
"""
# PostgreSQL: the rows of chapters no longer complete deleted by the same statement (a data-modifying WITH; SQLite
# has none), one round trip less on every completion. It deletes only rows that the INSERT does not write.
REMOVED = """,
removed AS (
    DELETE FROM learner_chapter_done d
    WHERE d.course_id = :course_id {only_d}
      AND NOT EXISTS (SELECT 1 FROM complete k WHERE k.user_id = d.user_id AND k.chapter_id = d.chapter_id)
)"""


DELETE_CHAPTERS = "DELETE FROM learner_chapter_done WHERE course_id = :course_id"
ONE_LEARNER = {"only_p": "AND p.user_id = :user_id", "only_a": "AND a.user_id = :user_id"}
EVERY_LEARNER = {"only_p": "", "only_a": ""}


def statements(one_learner: bool, deletes_in_with: bool = False) -> list[str]:
    """The SQL that recomputes the roll-up of :course_id (of :user_id only, when `one_learner`): the learners' rows,
    then their chapters: deleted and inserted again, or in one statement if `deletes_in_with` (PostgreSQL)."""
    only = ONE_LEARNER if one_learner else EVERY_LEARNER
    per_quiz = PER_QUIZ.format(quizzes="quizzes", only_a=only["only_a"])
    quiz_totals = QUIZ_TOTALS.format(per_quiz="per_quiz")
    stats = STATS.format(outline=OUTLINE, per_quiz=per_quiz, quiz_totals=quiz_totals, **only)
    only_d = "AND d.user_id = :user_id" if one_learner else ""
    if deletes_in_with:
        return [stats, CHAPTERS.format(outline=OUTLINE, removed=REMOVED.format(only_d=only_d), **only)]
    delete = DELETE_CHAPTERS + (" AND user_id = :user_id" if one_learner else "")
    return [stats, delete, CHAPTERS.format(outline=OUTLINE, removed="", **only)]


# The quiz columns of one learner's row, recomputed from their attempts at the course's current quizzes (the
# same numbers as STATS's `attempts`). No WITH: Python's sqlite3 reports no row count for a statement that
# does not begin with UPDATE, and the count tells whether the learner has a row yet.
_QUIZ_COLUMNS_OF = """
UPDATE learner_course_stats
SET quizzes_passed = s.quizzes_passed, quizzes_failing = s.quizzes_failing, best_sum = s.best_sum,
    best_count = s.best_count, last_attempt_at = s.last_attempt_at
FROM (SELECT COALESCE(SUM(quizzes_passed), 0) AS quizzes_passed,
             COALESCE(SUM(quizzes_failing), 0) AS quizzes_failing, COALESCE(SUM(best_sum), 0) AS best_sum,
             COALESCE(SUM(best_count), 0) AS best_count, MAX(last_attempt_at) AS last_attempt_at
      FROM ({totals}) totals) s
WHERE learner_course_stats.user_id = :user_id AND learner_course_stats.course_id = :course_id
"""
_ONE_LEARNERS_QUIZZES = PER_QUIZ.format(quizzes=f"({QUIZZES})", only_a="AND a.user_id = :user_id")
QUIZ_COLUMNS = _QUIZ_COLUMNS_OF.format(totals=QUIZ_TOTALS.format(per_quiz=f"({_ONE_LEARNERS_QUIZZES})"))


# The lesson columns of one learner's row, recomputed from their progress rows (the same numbers as STATS's `viewed`
# and `current_lessons`). No WITH: see `_QUIZ_COLUMNS_OF`.
_LESSON_COLUMNS_OF = """
UPDATE learner_course_stats
SET lessons_done = s.lessons_done, furthest_lesson = s.furthest_lesson, last_viewed_at = s.last_viewed_at
FROM (SELECT COALESCE(SUM(CASE WHEN l.lesson_id IS NOT NULL AND p.completed_at IS NOT NULL THEN 1 ELSE 0 END), 0)
               AS lessons_done,
             MAX(l.pos) AS furthest_lesson, MAX(p.last_viewed_at) AS last_viewed_at
      FROM lesson_progress p LEFT JOIN ({lessons}) l ON l.lesson_id = p.lesson_id
      WHERE p.user_id = :user_id AND p.course_id = :course_id) s
WHERE learner_course_stats.user_id = :user_id AND learner_course_stats.course_id = :course_id
"""
LESSON_COLUMNS = _LESSON_COLUMNS_OF.format(lessons=LESSONS)

# Whether the learner's row (`{row}`) counts every lesson of the current outline complete and every quiz passed.
ALL_DONE = (
    f"{{row}}.lessons_done >= (SELECT count(*) FROM ({LESSONS}) l)"  # noqa: S608  # nosec B608 - constant SQL
    f" AND {{row}}.quizzes_passed >= (SELECT count(*) FROM ({QUIZZES}) q)"
)
# A completion's refresh: the lesson columns, and whether that leaves anything to do, in one statement.
LESSON_COLUMNS_ALL_DONE = LESSON_COLUMNS + f"RETURNING {ALL_DONE.format(row='learner_course_stats')} AS all_done\n"
