"""Every HTTP error is a page of the app — in the reader's language, with its status and headers kept — and
never Werkzeug's English page; the icons the pages link to (and the /favicon.ico browsers ask for) are served.

Through the test client (no browser needed): the app `create_app` builds, with the test server's `/_e2e/` routes,
which answer with any error. The browser tests check these pages for accessibility (test_accessibility.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from course import create_app

from .conftest import TEST_ROUTES, add_test_routes

# code → (the title in English, in Chinese): a code's own template, or the page of its class (4xx, 5xx).
TITLES = {
    400: ("Bad request", "请求有误"),
    403: ("Not allowed", "无权访问"),
    404: ("Page not found", "页面不存在"),
    405: ("Bad request", "请求有误"),
    409: ("Bad request", "请求有误"),
    429: ("Bad request", "请求有误"),
    500: ("Something went wrong", "出错了"),
    501: ("Something went wrong", "出错了"),
    503: ("Something went wrong", "出错了"),
}
LANGUAGES = {"en": 0, "zh-CN": 1}


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": "memory://"})
    add_test_routes(app)
    yield app


def get(client: FlaskClient, path: str, language: str):
    return client.get(path, headers={"Accept-Language": language})


def page_of(html: str) -> tuple[str, str]:
    code = re.search(r'class="error-code">(\d+)<', html)
    title = re.search(r"<h1>(.*?)</h1>", html)
    assert code and title, html[:500]
    return code.group(1), title.group(1)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", TITLES)
def test_every_error_code_is_an_app_page_in_the_readers_language(app: Flask, code: int, language: str) -> None:
    response = get(app.test_client(), f"{TEST_ROUTES}/abort/{code}", language)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'class="site-header"' in html, "Werkzeug's page, not the app's"
    assert page_of(html) == (str(code), TITLES[code][LANGUAGES[language]])


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_unexpected_exception_is_the_500_page(app: Flask, language: str) -> None:
    response = get(app.test_client(), f"{TEST_ROUTES}/crash", language)
    assert response.status_code == 500
    assert page_of(response.get_data(as_text=True)) == ("500", TITLES[500][LANGUAGES[language]])


def test_an_error_keeps_the_headers_it_carries(app: Flask) -> None:
    response = get(app.test_client(), "/logout", "en")  # POST only
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"POST"}
    assert page_of(response.get_data(as_text=True)) == ("405", "Bad request")


def test_the_icons_are_served(app: Flask) -> None:
    client = app.test_client()
    html = get(client, "/no/such/page", "en").get_data(as_text=True)
    icons = re.findall(r'<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"', html)
    assert len(icons) == 3, icons  # the SVG, a 32 px PNG, the 180 px apple-touch-icon
    for href in [*icons, "/favicon.ico"]:
        response = client.get(href)
        body = response.get_data()
        response.close()
        assert response.status_code == 200, href
        assert response.mimetype.startswith("image/"), (href, response.mimetype)
    assert body[:4] == b"\x00\x00\x01\x00"  # /favicon.ico is an ICO file
