"""A learner's progress through a course: lesson views and completions, reading time, workbook answers, the
course completion, the learner's outline with its percentages, what a learner may do next (`journey`), the
dashboard's roll-up of it all, and the spaced review of what a learner got wrong (`review`).

The roll-up and the completion snapshots follow writes of the layers below through signals (`course.signals`);
importing the package connects their receivers.
"""

from course.progress import completion, review, rollup  # noqa: F401 - connect the signal receivers
