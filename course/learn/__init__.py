"""The learner's pages: the catalogue, a course's outline, lessons and the workbook (`lessons`), the chapter
quizzes (`quizzes`), the completion summary and the public verification page (`summary`), a learner's calendar
feed of their cohort and the outline's buttons that make and reset its link (`calendar`).

They sit above every package they show: a learner's page reads their whole state at once — progress, quiz
results, their cohort's schedule — and its rules (`course.progress.journey`).
"""
