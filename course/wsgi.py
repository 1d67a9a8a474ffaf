"""The production entry point for a WSGI server: `gunicorn course.wsgi:app` (see the README).

The app without its command-line tools (Alembic and the content pipeline stay out of every worker's memory),
configured from the environment: FOUNDER_COURSE_ENV=production, SECRET_KEY, DATABASE_URL, REDIS_URL, ….
"""

from course import create_app

app = create_app(cli=False)
