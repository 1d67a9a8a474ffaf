"""What a web worker imports at start: the libraries only some requests need are loaded by the first of them.

pyld (with lxml and requests) signs and verifies Open Badges (course/badges/proof.py), pylti1p3 (with requests,
jwcrypto and PyJWT) and the launch claims' pydantic models serve LTI (course/lti/), pydantic and spectree serve the
JSON API (its views, listed in course/api/routes.py), markdown-it and nh3 render Markdown (course/content/render.py,
at a content load or an announcement): each is imported at its first use, so a worker that serves
none of them keeps them out of its memory (docs/PERFORMANCE.md, "Memory")."""

from __future__ import annotations

import re

from servers import PRODUCTION_ENV, ROOT
from test_page_costs import _run

LAZY = ("pyld", "lxml", "requests", "urllib3", "pylti1p3", "jwcrypto", "jwt", "course.lti.claims", "course.lti.tool")
LAZY += ("markdown_it", "nh3", "mdurl")  # Markdown is rendered when content is loaded or an announcement written
LAZY += ("pydantic", "pydantic_core", "spectree", "course.api.schemas", "course.api.spec", "course.api.learner_routes")


def test_the_web_entry_point_leaves_json_ld_lti_and_api_libraries_out():
    out = _run(
        "import sys\nfrom course.wsgi import app\n"
        f"lazy = {LAZY!r}\n"
        "print(sorted(m for m in sys.modules if m in lazy or m.split('.')[0] in lazy))\n"
    )
    assert out == "[]"


def test_a_worker_imports_only_its_own_databases_dialect(database_url):
    """SQLAlchemy's PostgreSQL dialects are about 1.5 MB of a SQLite worker's memory, and the SQLite dialect has no
    use in a PostgreSQL worker (course/sql.py imports a dialect's INSERT … ON CONFLICT when it is first needed), nor
    the sqlite3 module and its library, which SQLite's writers' turn (course/sqlite_writers.py) is built on."""
    ours = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    out = _run(
        "import sys\nfrom course.wsgi import app\n"
        "print(sorted({m.split('.')[2] for m in sys.modules if m.startswith('sqlalchemy.dialects.')} - {'_typing'}),"
        " '_sqlite3' in sys.modules)\n",
        DATABASE_URL=database_url,
    )
    assert out == f"{[ours]!r} {ours == 'sqlite'}"


def test_the_web_entry_point_keeps_greenlet_out_and_sqlalchemy_works(database_url):
    """greenlet, a C++ library SQLAlchemy 2.0 imports for its asyncio extension alone, is about 1.3 MB of a worker
    (course/wsgi.py keeps it out). Without it the app's sessions still read: SQLAlchemy's synchronous engine never
    needs it. The test servers start gunicorn through the same entry point, so every gunicorn test runs this way."""
    out = _run(
        "import sys\nfrom course.wsgi import app\nfrom sqlalchemy import text\nfrom course.extensions import db\n"
        "with app.app_context():\n"
        "    one = db.session.execute(text('SELECT 1')).scalar()\n"
        "print(one, sys.modules.get('greenlet', 'absent'), 'greenlet._greenlet' in sys.modules)\n",
        DATABASE_URL=database_url,
    )
    assert out == "1 None False"


def test_the_readme_runs_gunicorn_as_the_test_servers_do():
    """The production command's environment (README, "Running in production") is the one every gunicorn the tests
    and the benchmarks start runs with (tests/servers.py)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^((?:[A-Z_]+=\S+ )+)\\\n\s*\.venv/bin/gunicorn ", readme, re.MULTILINE)
    assert command, "no gunicorn command with its environment in the README"
    assert dict(pair.split("=", 1) for pair in command.group(1).split()) == PRODUCTION_ENV


def test_the_lazy_libraries_load_when_used():
    """The error classes made at first use are pyld's, so pyld's callers catch them as before."""
    out = _run(
        "import sys\nfrom course.wsgi import app\n"
        "from course.badges import documents, proof\n"
        "from pyld.jsonld import JsonLdError\n"
        "print(issubclass(documents.UnknownContext, JsonLdError), issubclass(proof.DroppedTerm, JsonLdError),"
        " documents.UnknownContext is documents.UnknownContext)\n"
    )
    assert out == "True True True"


def test_every_api_route_is_an_operation_of_the_document(app, client):
    """The API's rules come from one table (course/api/routes.py); each operation in it is in the OpenAPI
    document, under the same path and methods, once its view is loaded."""
    from course.api.routes import ROUTES

    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    expected = set()
    for route in ROUTES:
        if route.endpoint in ("openapi", "docs"):  # the document and its page, not operations
            continue
        path = "/api/v1" + route.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        expected |= {(path, method) for method in route.methods}
    assert documented == expected


def test_an_api_request_loads_its_view_once(app, client):
    from course.api.routes import LazyView

    assert isinstance(app.view_functions["api.docs"], LazyView)
    assert client.get("/api/v1/courses").status_code == 401  # refused before any view: nothing loaded
    assert isinstance(app.view_functions["api.catalogue"], LazyView)
    assert client.get("/api/v1/docs").status_code == 200  # a public page: its view is loaded, and kept
    assert not isinstance(app.view_functions["api.docs"], LazyView)
    assert isinstance(app.view_functions["api.catalogue"], LazyView)
