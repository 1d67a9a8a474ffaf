"""Founder Course: a Flask LMS that turns a founder's guide into an online course."""

from __future__ import annotations

from typing import Any

from flask import Flask

from config import CONFIGS, Config, config_name


def create_app(config: dict[str, Any] | type[Config] | str | None = None, *, cli: bool = True) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, CLI, template globals.

    `config` is a config name (`"testing"`), a config class, or a mapping of overrides applied on top of
    the environment's config. The factory does no I/O: no schema creation, no content load.

    `cli=False` leaves out the command-line tools (`flask db` through Flask-Migrate and Alembic, `content`,
    `users`, `demo`): what a web worker serving requests does not need to hold in memory (`course.wsgi`).
    """
    cfg_class: type[Config]
    overrides: dict[str, Any] = {}
    if isinstance(config, str):
        cfg_class = CONFIGS[config]
    elif isinstance(config, type):
        cfg_class = config
    else:
        cfg_class = CONFIGS[config_name()]
        overrides = dict(config or {})
        if "TESTING" in overrides and overrides["TESTING"]:
            cfg_class = CONFIGS["testing"]

    app = Flask(__name__, template_folder=cfg_class.TEMPLATES_DIR, instance_relative_config=False)
    app.config.from_object(cfg_class)
    app.config.update(cfg_class.from_env())
    app.config.update(overrides)

    from course import setup

    setup.tune_allocator()
    setup.register_extensions(app)
    setup.register_url_converters(app)
    setup.register_blueprints(app)
    setup.register_error_handlers(app)
    if cli:
        setup.register_cli(app)
    setup.register_template_globals(app)
    setup.register_request_handling(app)
    setup.register_security_headers(app)
    return app
