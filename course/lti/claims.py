"""A validated launch's claims, checked once for type and length before anything uses them: a platform may sign a
token whose claims are odd (roles that are not strings, a service claim that is a list, an over-long id), and that
is a 400, not a 500 or a database error. Also which client a token is for (`aud`, `azp`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from course.lti.refusal import LaunchRefused

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

Id = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Text = Annotated[str, StringConstraints(max_length=2000)]


class _Claim(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class ResourceLinkClaim(_Claim):
    id: Id
    title: Text | None = None


class ContextClaim(_Claim):
    id: Id


class AgsClaim(_Claim):
    scope: list[Annotated[str, StringConstraints(max_length=255)]] = Field(default_factory=list, max_length=20)
    lineitem: Url | None = None
    lineitems: Url | None = None


class NrpsClaim(_Claim):
    context_memberships_url: Url


class DeepLinkingClaim(_Claim):
    deep_link_return_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class LaunchClaims(_Claim):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, populate_by_name=True)

    iss: Id
    nonce: Id
    sub: Id
    aud: Id | list[Id]
    azp: Id | None = None
    name: Text | None = None
    given_name: Text | None = None
    family_name: Text | None = None
    deployment_id: Id = Field(alias=CLAIM + "deployment_id")
    roles: list[Annotated[str, StringConstraints(max_length=500)]] = Field(alias=CLAIM + "roles", max_length=100)
    resource_link: ResourceLinkClaim | None = Field(None, alias=CLAIM + "resource_link")
    context: ContextClaim | None = Field(None, alias=CLAIM + "context")
    target_link_uri: Text | None = Field(None, alias=CLAIM + "target_link_uri")
    custom: dict[str, Any] | None = Field(None, alias=CLAIM + "custom")
    ags: AgsClaim | None = Field(None, alias=AGS_CLAIM)
    nrps: NrpsClaim | None = Field(None, alias=NRPS_CLAIM)
    deep_linking: DeepLinkingClaim | None = Field(None, alias=DEEP_LINKING_CLAIM)

    @property
    def client_id(self) -> str:
        return client_id_of({"aud": self.aud, "azp": self.azp}) or ""

    @property
    def display_name(self) -> str:
        return display_name({"name": self.name, "given_name": self.given_name, "family_name": self.family_name})

    def link_parameters(self) -> dict[str, str]:
        """`course` and `chapter` from the custom claim, else from the target link's query (`/lti/launch?course=…`)."""
        query = parse_qsl(urlsplit(self.target_link_uri or "").query)
        named = [*query, *(self.custom or {}).items()]  # the custom claim's values win
        return {k: v for k, v in named if k in ("course", "chapter") and isinstance(v, str)}


def client_id_of(body: dict[str, Any]) -> str | None:
    """The client a token is for: its only audience, or with several (or an `azp`), the `azp` — which must be one
    of them. None when the token does not say (LTI 1.3 / OpenID Connect Core 3.1.3.7)."""
    aud, azp = body.get("aud"), body.get("azp")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not audiences or not all(isinstance(a, str) and a for a in audiences):
        return None
    if azp is None:
        return audiences[0] if len(audiences) == 1 else None
    return azp if isinstance(azp, str) and azp in audiences else None


def display_name(person: dict[str, Any]) -> str:
    """A platform user's name: `name`, else given and family names (the launch's claims, or an NRPS member)."""
    name = person.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = (person.get("given_name"), person.get("family_name"))
        name = " ".join(p for p in parts if isinstance(p, str) and p)
    return name.strip()


def parse_launch(body: dict[str, Any]) -> LaunchClaims:
    """The launch's claims, or LaunchRefused (400) naming nothing of the token to the user."""
    try:
        return LaunchClaims.model_validate(body)
    except ValidationError as error:
        raise LaunchRefused(_("This launch's data is not valid. Open the course again from your LMS.")) from error
