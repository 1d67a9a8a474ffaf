"""The API against its own OpenAPI document, checked by tools we did not write: openapi-spec-validator reads the
document as OpenAPI 3.1, and schemathesis generates requests for every operation (in-process, over WSGI) with
the token of each role — random ids and the world's real ones — and checks every response: no server error,
a status the document lists, its content type, and a body its schema accepts."""

from __future__ import annotations

import re

import pytest
import schemathesis
from api_world import ADMIN, INSTRUCTOR_A, INSTRUCTOR_B, LEARNER, add_history, bearer, build_world
from conftest import FIXTURE_COURSE
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 8  # per operation and role: the run stays within seconds


@pytest.fixture
def world(app, loaded_course, make_user):
    world = build_world(app, make_user)
    add_history(app, world)  # attempts (shown in full, and withheld), a workbook answer, a completion
    return world


def test_the_document_is_valid_openapi_3_1(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(document).validate()
    operations = {(method, path) for path, item in document["paths"].items() for method in item}
    assert len(operations) == 14
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["security"], (method, path)  # every operation needs a bearer token
            assert "application/problem+json" in operation["responses"]["401"]["content"]


def test_every_operation_keeps_to_its_schema(app, world):
    """Each role's token against every operation: random requests, and requests with the world's real ids (both
    quizzes: one showing its answers in full, one withholding them) and a real enrolment body. Every operation must
    have answered some role with a success, so that its success's body was checked too."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    real = {
        "cohort_id": [world.cohort_a],
        "user_id": [world.users["learner"]],
        "course_key": [FIXTURE_COURSE],
        "quiz_key": ["intro-quiz", "launch-quiz"],
    }
    operations = [result.ok() for result in schema.get_all_operations()]
    succeeded: dict[str, set[int]] = {f"{op.method.upper()} {op.path}": set() for op in operations}
    # the admin unenrols the learner (DELETE last): the other roles have read her first
    for role in (LEARNER, INSTRUCTOR_B, INSTRUCTOR_A, ADMIN):
        headers = bearer(world.tokens[role])
        for operation in sorted(operations, key=lambda op: op.method.upper() == "DELETE"):
            names = set(re.findall(r"{(\w+)}", operation.path))
            strategies = [operation.as_strategy(headers=headers)]
            for quiz_key in real["quiz_key"] if "quiz_key" in names else [None]:
                fixed = {name: values[0] for name, values in real.items() if name in names}
                if quiz_key:
                    fixed["quiz_key"] = quiz_key
                strategies.append(operation.as_strategy(headers=headers, path_parameters=fixed))
                if operation.method.upper() == "POST":
                    body = {"email": f"newcomer-{role}@example.com"}
                    strategies.append(operation.as_strategy(headers=headers, path_parameters=fixed, body=body))

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=st.one_of(strategies))
            def check(case):
                label = f"{case.operation.method.upper()} {case.operation.path}"
                response = case.call()
                case.validate_response(response, checks=CHECKS)
                if 200 <= response.status_code < 300:
                    succeeded[label].add(response.status_code)

            check()
    assert len(succeeded) == 14
    assert not [label for label, statuses in succeeded.items() if not statuses], succeeded
    assert {201, 200} <= succeeded["POST /api/v1/cohorts/{cohort_id}/learners"]
    assert succeeded["DELETE /api/v1/cohorts/{cohort_id}/learners/{user_id}"] == {204}
