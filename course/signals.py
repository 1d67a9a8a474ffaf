"""Signals from a lower layer to the layers above it (blinker, as Flask's own signals).

A package may not import the packages above it (docs/ARCHITECTURE.md). Where a write in a lower layer must
cause work above it, the lower layer sends one of these signals and the higher layer connects a receiver.
Receivers run at once, in the sender's thread and database transaction: what they write commits or rolls
back with the write that caused it.

- `content_loaded(sender, plan)`: a content load synced the files (`plan`: the load's `LoadPlan`), flushed,
  not yet committed. The progress roll-up counts the new outline.
- `attempt_recorded(sender, user_id, course_id, first_pass)`: a quiz attempt was written (`sender`: what it was,
  `course.quiz.attempts.RecordedAttempt`); `first_pass` when it passed a quiz the learner had not passed before.
  Sent under the learner's lock (their user row FOR UPDATE on PostgreSQL; SQLite's write lock).
  The progress roll-up counts it, the spaced review makes cards of its wrong answers, LTI queues the new score.
- `user_renamed(sender, user)`: a user changed their display name. Their completions' frozen snapshots (what
  the public verification page shows) take the new name, and their Open Badges credentials are signed again.
- `course_completed(sender, completion)`: a learner completed a course (the completion row was just written,
  flushed). The badges package issues its Open Badges credential.
- `outbox_committed(sender=app)`: a transaction that wrote messages to the outbox committed (sent after the
  commit, outside any transaction). The worker's package (course/worker) connects the receiver that wakes it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

content_loaded = _signals.signal("content-loaded")
attempt_recorded = _signals.signal("attempt-recorded")
user_renamed = _signals.signal("user-renamed")
outbox_committed = _signals.signal("outbox-committed")
course_completed = _signals.signal("course-completed")
