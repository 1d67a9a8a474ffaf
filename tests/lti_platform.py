"""A small LMS for the LTI tests, built on `lti1p3platform` (a platform implementation we did not write), and a
way to serve a WSGI app on loopback in a thread.

    platform = TestPlatform(tool_url)           # its RSA key, one registration of our tool
    with serve(platform.wsgi()) as url: ...     # real HTTP

The platform keeps its line items, scores and roster in memory. `/start` begins a launch as the LMS would (OIDC
third-party initiated login), with the user, roles, link and custom parameters in the `lti_message_hint`;
`/authorize` answers the tool's authentication request with the signed id_token (as JSON, which the test's
"browser" posts to the tool, as the LMS's auto-submitting form would).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, jsonify, redirect, request
from lti1p3platform.exceptions import LineItemNotFoundException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.membership import Context
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService, NamesRoleProvisioningService
from werkzeug.serving import make_server

CLIENT_ID = "founder-course-tool"
DEPLOYMENT_ID = "deployment-1"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@contextlib.contextmanager
def serve(wsgi_app: Any) -> Iterator[str]:
    """Serve `wsgi_app` on a free loopback port (a threaded Werkzeug server) until the block ends."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def new_key_pem() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


class FlaskPlatformRequest(Request):
    def build_metadata(self, req: Any) -> TRequest:
        return {
            "method": req.method,
            "form_data": req.form.to_dict(),
            "get_data": req.args.to_dict(),
            "headers": req.headers,
            "content_type": req.content_type,
            "path": req.path,
            "json": req.get_json(force=True, silent=True),
        }


class TestPlatform:
    __test__ = False  # not a test class

    def __init__(self, tool_url: str) -> None:
        self.tool_url = tool_url
        self.url = ""  # set once served
        self.private_pem, self.public_pem = new_key_pem()
        self.lineitems: dict[str, dict[str, Any]] = {}
        self.scores: dict[tuple[str, str], dict[str, Any]] = {}
        self.members: list[dict[str, Any]] = []
        self.deep_link_items: list[list[dict[str, Any]]] = []
        self.on_jwks: Callable[[], None] | None = None  # called while the tool waits for the platform's keys
        self.members_next: str | None = None  # a `Link: rel=next` the roster's page sends

    # -- the library's pieces, bound to this platform --------------------------------------------------
    def registration(self) -> Registration:
        return (
            Registration()
            .set_iss(self.url)
            .set_client_id(CLIENT_ID)
            .set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(f"{self.tool_url}/lti/login")
            .set_launch_url(f"{self.tool_url}/lti/launch")
            .set_deeplink_launch_url(f"{self.tool_url}/lti/launch")
            .set_tool_key_set_url(f"{self.tool_url}/lti/jwks")
            .set_platform_public_key(self.public_pem)
            .set_platform_private_key(self.private_pem)
        )

    def conf(self) -> LTI1P3PlatformConfAbstract:
        platform = self

        class Conf(LTI1P3PlatformConfAbstract):
            def init_platform_config(self, **kwargs: Any) -> None:
                pass

            def get_registration_by_params(self, **kwargs: Any) -> Registration:
                return platform.registration()

        conf = Conf()
        conf.get_registration()
        return conf

    def ags(self, req: Request) -> AssignmentsGradesService:
        platform = self

        class Grades(AssignmentsGradesService):
            def find_lineitems(self, page: int = 1, limit: int | None = None, **filters: Any):
                items = [i for i in platform.lineitems.values() if all(i.get(k) == v for k, v in filters.items())]
                return {"content": items, "has_next": False, "next": None}

            def find_lineitem(self, line_item_id: str):
                if line_item_id not in platform.lineitems:
                    raise LineItemNotFoundException()
                return platform.lineitems[line_item_id]

            def create_lineitem(self, creation_data):
                return platform.add_lineitem(dict(creation_data))

            def update_lineitem(self, update_data):
                platform.lineitems[update_data["id"]].update(update_data)
                return platform.lineitems[update_data["id"]]

            def delete_lineitem(self, line_item_id: str) -> None:
                platform.lineitems.pop(line_item_id)

            def update_score(self, line_item_id: str, score):
                if line_item_id not in platform.lineitems:
                    raise LineItemNotFoundException()
                platform.scores[(line_item_id, score["userId"])] = dict(score)
                return UpdateScoreStatus.SUCCESS

            def get_results(self, line_item_id: str, page: int = 1, limit: int | None = None, user_id=None, **_: Any):
                if line_item_id not in platform.lineitems:
                    raise LineItemNotFoundException()
                results = [
                    {
                        "id": f"{platform.url}/ags/lineitems/{line_item_id}/results/{user}",
                        "scoreOf": f"{platform.url}/ags/lineitems/{line_item_id}",
                        "userId": user,
                        "resultScore": score["scoreGiven"],
                        "resultMaximum": score["scoreMaximum"],
                    }
                    for (item, user), score in platform.scores.items()
                    if item == line_item_id and (user_id is None or user == user_id)
                ]
                return {"content": results, "has_next": False, "next": None}

        return Grades(req, self.conf(), f"{self.url}/ags/lineitems")

    def nrps(self, req: Request) -> NamesRoleProvisioningService:
        platform = self

        class Roster(NamesRoleProvisioningService):
            def get_member_data_page(self, page: int = 1, limit: int | None = None, **_: Any):
                return {"content": [dict(m) for m in platform.members], "has_next": False, "next": None}

            def get_context_by_id(self) -> Context:
                return Context(id="course-101", label="C101", title="Course 101")

        return Roster(req, self.conf(), f"{self.url}/nrps/members")

    def add_lineitem(self, data: dict[str, Any]) -> dict[str, Any]:
        item_id = str(len(self.lineitems) + 1)
        data["id"] = f"{self.url}/ags/lineitems/{item_id}"
        self.lineitems[item_id] = data
        return data

    # -- the LMS's HTTP face ----------------------------------------------------------------------------
    def wsgi(self) -> Flask:
        platform = self
        app = Flask("test-lms")

        class Login(OIDCLoginAbstract):
            def set_lti_message_hint(self, **kwargs: Any) -> None:
                self._lti_message_hint = json.dumps(kwargs)

            def get_redirect(self, url: str):
                return redirect(url)

        class Launch(LTIAdvantageMessageLaunchAbstract):
            def prepare_launch(self, preflight_response: dict[str, Any]) -> None:
                hint = json.loads(preflight_response.get("lti_message_hint") or "{}")
                self.set_user_data(
                    hint["user"], hint["roles"], full_name=hint.get("name"), email_address=hint.get("email")
                )
                self.set_launch_context_claim("course-101", context_title="Course 101")
                self.set_nrps(f"{platform.url}/nrps/members")
                if hint.get("deep"):
                    return_url = hint.get("deep_return") or f"{platform.url}/deep-link-return"
                    self.set_dl(return_url, accept_types={"ltiResourceLink"})
                    return
                self.set_resource_link_claim(hint["link"], title=hint.get("title"))
                if hint.get("target"):  # the link's target_link_uri, when the LMS placed it with one
                    self.set_launch_url(hint["target"])
                if hint.get("custom"):
                    self.set_custom_parameters_claim(hint["custom"])
                lineitem = hint.get("lineitem")
                self.set_ags(
                    f"{platform.url}/ags/lineitems", f"{platform.url}/ags/lineitems/{lineitem}" if lineitem else None
                )

            def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any):
                return jsonify(launch_data)  # what the auto-submitting form would post

        def wrap(resp) -> Response:
            if 200 <= resp.code < 300:
                data = resp.result["content"] if resp.result and "content" in resp.result else resp.result
                return Response(json.dumps(data), status=resp.code, content_type=resp.media_type)
            return Response(json.dumps({"error": resp.message}), status=resp.code, content_type="application/json")

        @app.get("/start")
        def start():
            hint = json.loads(request.args["hint"])
            login = Login(FlaskPlatformRequest(request), platform.conf())
            login.set_lti_message_hint(**hint)
            return login.initiate_login(hint["user"])

        @app.get("/authorize")
        def authorize():
            return Launch(FlaskPlatformRequest(request), platform.conf()).lti_launch()

        @app.post("/token")
        def token():
            return jsonify(platform.conf().get_access_token(request.form.to_dict()))

        @app.get("/jwks")
        def jwks():
            if platform.on_jwks is not None:
                platform.on_jwks()
            return jsonify(platform.conf().get_jwks())

        @app.route("/ags/lineitems", methods=["GET", "POST"])
        def lineitems():
            service = platform.ags(FlaskPlatformRequest(request))
            handler = service.handle_create_lineitem if request.method == "POST" else service.handle_get_lineitems
            return wrap(service.handle_resp(handler))

        @app.get("/ags/lineitems/<item>")
        def lineitem(item: str):
            service = platform.ags(FlaskPlatformRequest(request))
            return wrap(service.handle_resp(service.handle_get_lineitem, line_item_id=item))

        @app.post("/ags/lineitems/<item>/scores")
        def scores(item: str):
            service = platform.ags(FlaskPlatformRequest(request))
            return wrap(service.handle_resp(service.handle_update_score, line_item_id=item))

        @app.get("/ags/lineitems/<item>/results")
        def results(item: str):
            service = platform.ags(FlaskPlatformRequest(request))
            return wrap(service.handle_resp(service.handle_get_results, line_item_id=item))

        @app.get("/nrps/members")
        def members():
            service = platform.nrps(FlaskPlatformRequest(request))
            response = wrap(service.handle_resp(service.handle_get_members))
            if platform.members_next:
                response.headers["Link"] = f'<{platform.members_next}>; rel="next"'
            return response

        @app.post("/deep-link-return")
        def deep_link_return():
            items = platform.conf().validate_deeplinking_resp(request.form.to_dict())
            platform.deep_link_items.append(items)
            return jsonify(items)

        return app
