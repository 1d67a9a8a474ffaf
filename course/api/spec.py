"""The SpecTree instance every operation is declared with (strict mode: only these operations are in the document),
and `operation`, which adds the bearer token's scope check in front of spectree's validation."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree

from course.accounts.api_tokens import STAFF_SCOPES
from course.api.problems import fail
from course.api.schemas import Problem

BEARER = "bearerAuth"
log = logging.getLogger(__name__)


def _request_invalid(req: Any, resp: Any, error: Any, instance: Any, model_adapter: Any) -> None:
    """spectree's `before` hook: a request that does not validate is a 422 problem listing what is wrong."""
    if error is None:
        return
    errors = [
        {"loc": [str(part) for part in item.get("loc", ())], "msg": str(item.get("msg", ""))}
        for item in error.errors(include_url=False, include_context=False, include_input=False)
    ]
    fail(422, "The request's parameters or body are not valid.", slug="invalid-request", errors=errors)


def _response_invalid(req: Any, resp: Any, error: Any, instance: Any, model_adapter: Any) -> None:
    """spectree's `after` hook: a response that breaks its own schema is our bug, logged, and a 500 problem."""
    if error is not None:
        log.error("the response of %s %s breaks its schema: %s", req.method, req.path, error)
        fail(500, "Something went wrong on our side. It has been logged.")


spec = SpecTree(
    "flask",
    mode="strict",
    title="Founder Course API",
    version="1.0.0",
    description="Read the catalogue and your progress; for instructors, cohorts, rosters and enrolments. "
    "Send a personal access token (account page → API tokens) as `Authorization: Bearer fc_pat_…`.",
    annotations=True,
    page_templates={},  # the reference page is ours, served from our own files (/api/v1/docs)
    security_schemes=[
        SecurityScheme(
            name=BEARER,
            data=SecuritySchemeData(type="http", scheme="bearer", description="A personal access token (`fc_pat_…`)"),
        )
    ],
    before=_request_invalid,
    after=_response_invalid,
    validation_error_model=Problem,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)

# What every operation may answer besides its own success: problems.
COMMON_PROBLEMS = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem, "HTTP_429": Problem}


def responses(*bare: str, cached: bool = False, **codes: Any) -> Response:
    """A spectree Response: the operation's own codes (`bare`: without a body), the common problems, and 304 for
    reads with an ETag."""
    extra = ("HTTP_304",) if cached else ()
    return Response(*bare, *extra, **COMMON_PROBLEMS, **codes)


def operation(
    scope: str | None,
    *,
    tags: tuple[str, ...],
    resp: Response,
    load: Callable[..., Any] | None = None,
    **validate: Any,
) -> Callable:
    """Declare an operation: spectree validates its request and response; the token must grant `scope` (else a
    403 problem), and a staff scope works only for staff who set up two-step login (else a 403 problem), checked
    before the request's parameters are; then `load(**path arguments)` (a 404 for what the caller may not see),
    before the body is validated: someone else's cohort is a 404 whatever the body."""

    def decorate(view: Callable) -> Callable:
        security = {BEARER: [scope] if scope else []}
        validate.setdefault("operation_id", view.__name__)
        validated = spec.validate(resp=resp, tags=tags, security=security, **validate)(view)

        @wraps(validated)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if scope is not None and scope not in g.api_scopes:
                fail(
                    403,
                    f"This token does not grant the scope {scope}.",
                    slug="insufficient-scope",
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
                )
            if scope in STAFF_SCOPES and g.api_needs_two_step:
                fail(
                    403,
                    "Your role requires two-step login: set it up on the site before using this token.",
                    slug="two-step-login-required",
                )
            if load is not None:
                load(**kwargs)
            return validated(*args, **kwargs)

        return guarded

    return decorate
