"""A learner's progress through a course: lesson views and completions, reading time, workbook answers, the
course completion, the learner's outline with its percentages, what a learner may do next (`journey`), and the
dashboard's roll-up of it all.

The roll-up and the completion snapshots follow writes of the layers below through signals (`course.signals`);
importing the package connects their receivers.
"""

from course.progress import completion, rollup  # noqa: F401 - connect the signal receivers
