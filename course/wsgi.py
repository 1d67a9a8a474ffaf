"""The production entry point for a WSGI server: `gunicorn course.wsgi:app` (see the README).

The app without its command-line tools (Alembic and the content pipeline stay out of every worker's memory),
configured from the environment: SECRET_KEY, DATABASE_URL, MAIL_SERVER, REDIS_URL, …. It is production unless
FOUNDER_COURSE_ENV says otherwise: a server started without it never runs on the public development key.
"""

from config import config_name
from course import create_app

app = create_app(config_name(default="production"), cli=False)
