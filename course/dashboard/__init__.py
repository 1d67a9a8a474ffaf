"""The instructor dashboard of a cohort: its pages (`routes`), the numbers they show (`overview`, `lists`,
`quizstats`, `drilldown`, computed from the roll-up that `course.progress.rollup` keeps), charts drawn as SVG
(`charts`) and CSV exports (`exports`)."""
