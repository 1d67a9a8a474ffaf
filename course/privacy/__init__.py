"""A user's own data: everything stored about them, found by walking the schema (`tables`), handed over as a
file (`export`), and removed or anonymised when their account is deleted (`deletion`), so that the cohorts'
statistics stay whole. docs/SECURITY.md, "Retention", says what is kept and why."""
