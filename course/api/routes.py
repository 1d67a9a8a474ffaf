"""Every operation of the API: its URL rule, its methods and where its view lives. The rules are added when the app
is built; a view's module — with pydantic's models and spectree's validation — is imported by the first request to
it (or by the OpenAPI document, which reads them all), so a web worker that serves no API request keeps pydantic and
spectree out of its memory (docs/PERFORMANCE.md, "Memory").

Listed in the order the OpenAPI document gives them."""

from __future__ import annotations

from functools import cached_property
from importlib import import_module
from typing import Any, NamedTuple

from flask import Blueprint, Flask, current_app
from flask.views import View


class Route(NamedTuple):
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    view: str  # "module:attribute" in course.api: a function, or a MethodView class


ROUTES = (
    Route("/openapi.json", "openapi", ("GET",), "docs_routes:openapi"),
    Route("/docs", "docs", ("GET",), "docs_routes:docs"),
    Route("/courses", "catalogue", ("GET",), "learner_routes:catalogue"),
    Route("/courses/<course_key>", "course_outline", ("GET",), "learner_routes:course_outline"),
    Route("/me", "me", ("GET",), "learner_routes:me"),
    Route("/me/courses/<course_key>/progress", "my_progress", ("GET",), "learner_routes:my_progress"),
    Route(
        "/me/courses/<course_key>/quizzes/<quiz_key>/attempts", "my_attempts", ("GET",), "learner_routes:my_attempts"
    ),
    Route("/me/courses/<course_key>/workbook", "my_workbook", ("GET",), "learner_routes:my_workbook"),
    Route("/me/courses/<course_key>/completion", "my_completion", ("GET",), "learner_routes:my_completion"),
    Route("/cohorts", "cohorts", ("GET",), "staff_routes:cohorts"),
    Route("/cohorts/<int:cohort_id>", "cohort", ("GET",), "staff_routes:cohort"),
    Route("/cohorts/<int:cohort_id>/learners", "cohort_learners", ("GET", "POST"), "staff_routes:CohortLearners"),
    Route(
        "/cohorts/<int:cohort_id>/learners/<int:user_id>",
        "cohort_learner",
        ("GET", "DELETE"),
        "staff_routes:CohortLearner",
    ),
    Route("/users", "users", ("GET",), "staff_routes:users"),
)


class LazyView:
    """A URL rule's view, imported at its first call; from then on the app calls the view itself."""

    def __init__(self, route: Route, blueprint: str) -> None:
        self.route = route
        self.name = f"{blueprint}.{route.endpoint}"
        module, attribute = route.view.split(":")
        # named as the view it stands for (Flask-Limiter keys a view's limits by these names)
        self.__module__, self.__name__, self.__qualname__ = f"course.api.{module}", route.endpoint, attribute

    @cached_property
    def view(self) -> Any:
        module, attribute = self.route.view.split(":")
        found = getattr(import_module(f"course.api.{module}"), attribute)
        return found.as_view(self.route.endpoint) if isinstance(found, type) and issubclass(found, View) else found

    def resolve(self, app: Flask) -> Any:
        app.view_functions[self.name] = self.view
        return self.view

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve(current_app._get_current_object())(*args, **kwargs)  # type: ignore[attr-defined]


def add_routes(bp: Blueprint) -> None:
    """Every operation's rule on the API's blueprint, each view loaded by its first request."""
    for route in ROUTES:
        bp.add_url_rule(route.rule, route.endpoint, LazyView(route, bp.name), methods=list(route.methods))


def load_views(app: Flask) -> None:
    """Import every operation's view (what spectree reads the OpenAPI document from)."""
    for view in list(app.view_functions.values()):
        if isinstance(view, LazyView):
            view.resolve(app)
