"""How the tool talks to platforms: every request with a timeout, only to https addresses (http on loopback only
in tests and development), and a service's URLs — from a launch's claims or a `Link: rel=next` header — only on
the registered platform's own hosts. Access tokens are cached per registration (issuer, client id, token URL),
never shared between two schools on one issuer (Canvas cloud)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from pylti1p3.exception import LtiException
from pylti1p3.registration import Registration
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector, TServiceConnectorResponse

from course.lti.urls import host_allowed, http_allowed, is_web_url


class UrlRefused(LtiException):
    """A URL the tool will not call: not https, or not on the platform's hosts."""


class TimeoutSession(requests.Session):
    """A `requests.Session` whose requests time out (LTI_HTTP_TIMEOUT seconds) unless the caller says otherwise."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = REQUESTS_USER_AGENT

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)


def session() -> TimeoutSession:
    return TimeoutSession(current_app.config["LTI_HTTP_TIMEOUT"])


def hosts_of(registration: Registration) -> frozenset[str]:
    """The hosts a platform's services may live on: those of its token and key-set URLs, and those LTI_SERVICE_HOSTS
    names for its issuer (".example.com": any host under example.com)."""
    urls = (registration.get_auth_token_url(), registration.get_key_set_url())
    own = {host for url in urls if url and (host := urlsplit(url).hostname)}
    configured = current_app.config["LTI_SERVICE_HOSTS"].get(registration.get_issuer() or "", ())
    return frozenset({*own, *configured})


def check_service_url(url: str, allowed: Iterable[str]) -> str:
    """`url`, if the tool may call it for a platform whose hosts are `allowed`; else UrlRefused."""
    if not is_web_url(url, allow_loopback_http=http_allowed()) or not host_allowed(urlsplit(url).hostname, allowed):
        raise UrlRefused(f"Refused to call {url[:200]!r}: not an https URL on the platform's hosts.")
    return url


class ToolServiceConnector(ServiceConnector):
    """pylti1p3's connector with a timeout, the URL checks above, and a token cache keyed by registration."""

    _tokens: dict[str, tuple[str, float]] = {}
    _lock = threading.Lock()

    def __init__(self, registration: Registration, requests_session: requests.Session | None = None) -> None:
        super().__init__(registration, requests_session or session())
        self._hosts = hosts_of(registration)

    def _scope_key(self, scopes: Iterable[str]) -> str:
        registration = self._registration
        parts = [registration.get_issuer(), registration.get_client_id(), registration.get_auth_token_url()]
        return "\n".join([*(str(p) for p in parts), *sorted(scopes)])

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        with self._lock:
            cached = self._tokens.get(scope_key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        with self._lock:
            self._tokens[scope_key] = (access_token, time.monotonic() + float(expires_in or 0) - 5)

    def make_service_request(self, scopes: Sequence[str], url: str, **kwargs: Any) -> TServiceConnectorResponse:
        return super().make_service_request(scopes, check_service_url(url, self._hosts), **kwargs)
