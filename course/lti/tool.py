"""pylti1p3 wired to this app: the tool's configuration read from the registered platforms (`DbToolConf`) and
the launch storage — nonces, states, launch data — in the database (`DbLaunchStorage`), so that the login and
the launch may reach different app instances. Validation only reads the nonce, and nothing holds a transaction open
while the platform's keys are fetched; the launch route consumes the nonce afterwards (`consume_nonce`), in a short
transaction of its own: a launch is accepted once. Tokens must carry `exp` and `iat`, and name our client in
`aud` (and `azp` when `aud` has several values)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiMessageValidationException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config import ToolConfAbstract
from sqlalchemy import delete, select, update

from course.db_types import utcnow
from course.extensions import db
from course.lti import keys
from course.lti.claims import LaunchClaims, client_id_of, parse_launch
from course.lti.http import ToolServiceConnector, session
from course.lti.models import LtiDeployment, LtiLaunchValue, LtiPlatform
from course.sql import insert_ignore, writing

NONCE_KEY = "-nonce-"  # pylti1p3's nonce keys: "lti1p3-nonce-<nonce>"
LAUNCH_LIFETIME = 3600  # seconds a launch's data stays (a deep-linking picker must be answered within it)


def registration_for(platform: LtiPlatform) -> Registration:
    return (
        Registration()
        .set_issuer(platform.issuer)
        .set_client_id(platform.client_id)
        .set_auth_login_url(platform.auth_login_url)
        .set_auth_token_url(platform.auth_token_url)
        .set_key_set_url(platform.key_set_url)
        .set_tool_private_key(keys.private_pem())
        .set_tool_public_key(keys.public_pem())
    )


def find_platform(issuer: str, client_id: str | None) -> LtiPlatform | None:
    """The platform registered for `issuer` and `client_id`; without a client id, the issuer's only one."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        return db.session.scalar(query.where(LtiPlatform.client_id == client_id))
    found = db.session.scalars(query.limit(2)).all()
    return found[0] if len(found) == 1 else None


def find_deployment(issuer: str, client_id: str | None, deployment_id: str) -> LtiDeployment | None:
    platform = find_platform(issuer, client_id)
    if platform is None:
        return None
    return db.session.scalar(
        select(LtiDeployment).where(
            LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id == deployment_id
        )
    )


class DbToolConf(ToolConfAbstract[FlaskRequest]):
    """Every issuer may have several client ids; registrations come from `lti_platform`."""

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Registration | None:
        platform = find_platform(iss, client_id)
        return registration_for(platform) if platform is not None else None

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        found = find_deployment(iss, client_id, deployment_id)
        return Deployment().set_deployment_id(found.deployment_id) if found is not None else None


class DbLaunchStorage(LaunchDataStorage[Any]):
    """Values in `lti_launch_value`, with an expiry. Keys are random per launch (nonce, state, launch id), so no
    per-browser prefix is needed: the state cookie still ties a launch to the browser that started it."""

    def get_session_cookie_name(self) -> str | None:
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        row = db.session.get(LtiLaunchValue, self._prepare_key(key))
        if row is None or row.expires_at <= utcnow():
            return None
        return row.value

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        key = self._prepare_key(key)
        expires_at = utcnow() + timedelta(seconds=exp or LAUNCH_LIFETIME)
        if not insert_ignore(LtiLaunchValue, {"key": key, "value": value, "expires_at": expires_at}, ["key"]):
            db.session.execute(  # two requests may set one key (a launch posted twice): the database decides
                update(LtiLaunchValue).where(LtiLaunchValue.key == key).values(value=value, expires_at=expires_at)
            )

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None  # a nonce is only read here; `consume_nonce` uses it up


def consume_nonce(nonce: object) -> bool:
    """Use up a launch's nonce: True for the one request whose DELETE took the row, False for a replay."""
    if not isinstance(nonce, str) or not nonce:
        return False
    key = f"lti1p3{NONCE_KEY}{nonce}"
    gone = db.session.execute(
        delete(LtiLaunchValue).where(LtiLaunchValue.key == key, LtiLaunchValue.expires_at > utcnow())
    )
    return gone.rowcount == 1


def prune_expired() -> int:
    """Delete launch values past their expiry (the scheduled jobs run it); how many."""
    return db.session.execute(delete(LtiLaunchValue).where(LtiLaunchValue.expires_at <= utcnow())).rowcount


def oidc_login() -> FlaskOIDCLogin:
    login = FlaskOIDCLogin(FlaskRequest(), DbToolConf())
    return login.set_launch_data_storage(DbLaunchStorage()).set_launch_data_lifetime(LAUNCH_LIFETIME)


class ToolMessageLaunch(FlaskMessageLaunch):
    """pylti1p3's launch with our HTTP session (timeouts), the `aud`/`azp` rule, and no open transaction while the
    platform's key set is fetched. Its claims are checked (`claims`, LaunchRefused) before the library reads them."""

    claims: LaunchClaims

    def validate_jwt_format(self) -> ToolMessageLaunch:
        super().validate_jwt_format()
        if not isinstance(self._jwt.get("header"), dict) or not isinstance(self._jwt.get("body"), dict):
            raise LtiMessageValidationException("The token's header and body must be JSON objects.")
        self.claims = parse_launch(self._jwt["body"])
        return self

    def get_client_id(self) -> str:
        client_id = client_id_of(self._get_jwt_body())
        if client_id is None:
            raise LtiMessageValidationException("The token's aud/azp do not name one client.")
        return client_id

    def fetch_public_key(self, key_set_url: str) -> Any:
        db.session.commit()  # validation has only read so far: end that transaction before the HTTP request
        return super().fetch_public_key(key_set_url)

    def save_launch_data(self) -> ToolMessageLaunch:
        with writing():
            super().save_launch_data()
        return self


def message_launch() -> ToolMessageLaunch:
    launch = ToolMessageLaunch(
        FlaskRequest(),
        DbToolConf(),
        launch_data_storage=DbLaunchStorage(),
        requests_session=session(),
        service_connector_cls=ToolServiceConnector,
    )
    launch.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
    return launch.set_launch_data_lifetime(LAUNCH_LIFETIME)


def restored_launch(launch_id: str) -> ToolMessageLaunch:
    """A launch validated earlier (its data from the storage), e.g. to answer a deep-linking request."""
    return ToolMessageLaunch.from_cache(
        launch_id, FlaskRequest(), DbToolConf(), launch_data_storage=DbLaunchStorage(), requests_session=session()
    )
