"""Static files (course/ops/static.py): built under content-hashed names with gzip and brotli copies, linked by those
names, served by WhiteNoise with a year's immutable caching and the site's security headers; a file changed since the
build, or no build at all, falls back to its plain name, revalidated on each use. And the rendered diagrams' URLs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask, url_for

from course import create_app
from course.content import diagrams
from course.ops import static

STATIC = Path(static.__file__).resolve().parent.parent / "static"
IMMUTABLE = "public, max-age=31536000, immutable"


def make_app(build_dir: Path, diagrams_dir: Path | None = None):
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "STATIC_BUILD_DIR": str(build_dir)}
    if diagrams_dir is not None:
        config["DIAGRAMS_DIR"] = str(diagrams_dir)
    return create_app(config)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The real static files built into a temporary folder, with one rendered diagram."""
    root = tmp_path_factory.mktemp("static")
    rendered = root / "diagrams"
    rendered.mkdir()
    svg = '<svg xmlns="http://www.w3.org/2000/svg">' + "<g/>" * 200 + "</svg>"
    (rendered / "0123456789abcdef0123.svg").write_text(svg)
    static.build(STATIC, rendered, root / "build")
    return root


def test_the_build_names_each_file_by_its_hash_compresses_it_and_points_the_stylesheet_at_hashed_fonts(built):
    build = built / "build"
    manifest = json.loads((build / "manifest.json").read_text())["files"]
    css = manifest["css/app.css"]
    assert re.fullmatch(r"css/app\.[0-9a-f]{12}\.css", css)
    assert (build / f"{css}.gz").is_file() and (build / f"{css}.br").is_file()
    text = (build / css).read_text()
    font = manifest.get("vendor/fonts/source-sans-3-latin-wght-normal.woff2")
    if font:  # installed by `make setup`: the stylesheet names the font's hashed file, cached for good too
        assert f'url("../{font}")' in text and re.search(r"\.[0-9a-f]{12}\.woff2$", font)
        assert not (build / f"{font}.gz").exists()  # woff2 is compressed already
    assert (build / "diagrams" / "0123456789abcdef0123.svg.br").is_file()
    assert not (build / "css" / "app.css").exists()  # only hashed names: the plain ones come from course/static


def test_pages_link_hashed_names_served_compressed_for_a_year_with_the_security_headers(built):
    app = make_app(built / "build", built / "diagrams")
    with app.test_request_context():
        css = url_for("static", filename="css/app.css")
        assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", css)
        assert url_for("static", filename="no/such/file.js") == "/static/no/such/file.js"
    client = app.test_client()
    with client.get(css, headers={"Accept-Encoding": "gzip, deflate, br"}) as response:
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "br"
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Vary"] == "Accept-Encoding"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["Content-Type"].startswith("text/css")
    with client.get(css, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
    with client.get("/static/diagrams/0123456789abcdef0123.svg") as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Content-Type"] == "image/svg+xml"
        # Opened by itself, its own <style> applies (and no script would run): not the pages' policy.
        assert response.headers["Content-Security-Policy"] == static.SVG_CSP
    with client.get("/static/css/app.css") as plain:  # the plain name still answers, checked on each use
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
        assert plain.headers["X-Content-Type-Options"] == "nosniff" and "ETag" in plain.headers
    assert client.get("/static/manifest.json").status_code == 404
    assert "blob:" not in response.headers["Content-Security-Policy"]  # no page makes an image of a blob


def test_a_file_changed_since_the_build_is_linked_by_its_plain_name(tmp_path):
    source = tmp_path / "static"
    (source / "css").mkdir(parents=True)
    (source / "css" / "a.css").write_text("body { color: red }")
    (source / "b.js").write_text("console.log(1)")
    files = static.build(source, tmp_path / "none", tmp_path / "build")
    assert static.read_manifest(tmp_path / "build", source) == files
    (source / "css" / "a.css").write_text("body { color: blue }")
    assert static.read_manifest(tmp_path / "build", source) == {"b.js": files["b.js"]}
    static.build(source, tmp_path / "none", tmp_path / "build")  # built again
    assert set(static.read_manifest(tmp_path / "build", source)) == {"css/a.css", "b.js"}


def test_a_build_keeps_the_hashed_files_of_the_builds_before_it_up_to_three(tmp_path):
    source = tmp_path / "static"
    source.mkdir()
    names = []
    for colour in ("red", "green", "blue", "black"):
        (source / "a.css").write_text(f"body {{ color: {colour} }}\n" * 50)  # long enough to be compressed
        names.append(static.build(source, tmp_path / "none", tmp_path / "build")["a.css"])
    kept = {p.name for p in (tmp_path / "build").glob("a.*.css")}
    assert kept == set(names[1:]) and len(set(names)) == 4  # the oldest is pruned
    assert (tmp_path / "build" / f"{names[1]}.gz").is_file()  # with its compressed copies
    assert static.read_manifest(tmp_path / "build", source) == {"a.css": names[-1]}


def site(tmp_path: Path, **config) -> Flask:
    """A small site of its own static folder (a.css), built into tmp_path/build: quicker to build than the real one."""
    app = Flask("site", static_folder=str(tmp_path / "static"))
    app.config.update(STATIC_BUILD_DIR=str(tmp_path / "build"), DIAGRAMS_DIR=str(tmp_path / "diagrams"), **config)
    static.init_app(app, {"X-Content-Type-Options": "nosniff"})
    return app


def test_a_worker_started_before_a_deploy_still_serves_its_pages_files_and_never_fails_on_a_gone_one(tmp_path):
    """Rolling deploys: a worker (or instance) listed the files at startup; the next build replaces the folder."""
    source, build_dir = tmp_path / "static", tmp_path / "build"
    source.mkdir()
    (source / "a.css").write_text("body { color: red }\n" * 50)
    old_name = static.build(source, tmp_path / "diagrams", build_dir)["a.css"]
    old = site(tmp_path)
    (source / "a.css").write_text("body { color: blue }\n" * 50)
    static.build(source, tmp_path / "diagrams", build_dir)  # the next release: the files of the one before are kept
    client = old.test_client()
    with client.get(f"/static/{old_name}", headers={"Accept-Encoding": "br"}) as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    for path in build_dir.glob("a.*"):  # pruned, or a folder from another instance's build: gone
        path.unlink()
    with client.get(f"/static/{old_name}") as response:  # listed at startup, gone now: the app's 404, not an error
        assert response.status_code == 404


def test_a_built_diagram_changed_since_the_build_is_served_from_the_diagrams_folder(tmp_path):
    rendered = tmp_path / "diagrams"
    rendered.mkdir()
    name = "0123456789abcdef0123.svg"
    (rendered / name).write_text("<svg>old</svg>")
    static.build(tmp_path / "static", rendered, tmp_path / "build")
    (rendered / name).write_text("<svg>new, longer</svg>")
    assert static.stale_diagrams(tmp_path / "build", rendered) == [name]
    with site(tmp_path).test_client().get(f"/static/diagrams/{name}") as response:
        assert response.get_data() == b"<svg>new, longer</svg>"
        assert response.headers["Content-Length"] == str(len(b"<svg>new, longer</svg>"))


@pytest.mark.parametrize("autorefresh", [True, False])
def test_with_autorefresh_a_file_edited_while_the_app_runs_is_served_whole(tmp_path, autorefresh):
    rendered = tmp_path / "diagrams"
    rendered.mkdir()
    (rendered / "0123456789abcdef0123.svg").write_text("<svg/>")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "STATIC_BUILD_DIR": str(tmp_path / "no-build"),
            "DIAGRAMS_DIR": str(rendered),
            "STATIC_AUTOREFRESH": autorefresh,
        }
    )
    (rendered / "0123456789abcdef0123.svg").write_text("<svg><g/></svg>")
    with app.test_client().get("/static/diagrams/0123456789abcdef0123.svg") as response:
        length = int(response.headers["Content-Length"])
    # Else the size listed at startup: restart after editing a static file (the module's docstring says so).
    assert length == (len(b"<svg><g/></svg>") if autorefresh else len(b"<svg/>"))
    assert create_app("development").config["STATIC_AUTOREFRESH"] is True  # `make run`


def test_with_autorefresh_a_file_edited_since_the_build_is_linked_by_its_plain_name_at_once(tmp_path):
    source = tmp_path / "static"
    source.mkdir()
    (source / "a.css").write_text("body { color: red }")
    files = static.build(source, tmp_path / "diagrams", tmp_path / "build")
    app = site(tmp_path, STATIC_AUTOREFRESH=True)
    with app.test_request_context():
        assert url_for("static", filename="a.css") == f"/static/{files['a.css']}"
        (source / "a.css").write_text("body { color: blue; background: white }")
        assert url_for("static", filename="a.css") == "/static/a.css"
    with app.test_client().get("/static/a.css") as response:
        assert response.get_data() == b"body { color: blue; background: white }"
    assert app.test_client().get("/static/manifest.json").status_code == 404


def test_the_diagrams_follow_the_content_folder_unless_set(monkeypatch, tmp_path):
    from config import Config

    monkeypatch.setenv("CONTENT_DIR", str(tmp_path / "content"))
    monkeypatch.delenv("DIAGRAMS_DIR", raising=False)
    assert Config.from_env()["DIAGRAMS_DIR"] == str(tmp_path / "content" / "diagrams")
    monkeypatch.setenv("DIAGRAMS_DIR", str(tmp_path / "pictures"))
    assert Config.from_env()["DIAGRAMS_DIR"] == str(tmp_path / "pictures")
    monkeypatch.setenv("DIAGRAMS_DIR", "")  # empty: the default, not the working directory
    assert Config.from_env()["DIAGRAMS_DIR"] == str(tmp_path / "content" / "diagrams")


def test_apps_made_with_the_same_folders_share_one_file_table_until_the_next_build(tmp_path):
    """The tests make an app per test: the static files are listed once per process, not once per app."""
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "a.css").write_text("body { color: red }")
    static.build(tmp_path / "static", tmp_path / "diagrams", tmp_path / "build")
    first, second = (site(tmp_path).wsgi_app for _ in range(2))
    assert first.files is second.files and "/static/a.css" in first.files
    static.build(tmp_path / "static", tmp_path / "diagrams", tmp_path / "build")  # a new manifest: listed again
    assert site(tmp_path).wsgi_app.files is not first.files


def test_without_a_build_files_are_served_by_their_plain_names(tmp_path):
    app = make_app(tmp_path / "no-build")
    with app.test_request_context():
        assert url_for("static", filename="css/app.css") == "/static/css/app.css"
    with app.test_client().get("/static/css/app.css") as response:
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"


def test_a_lessons_diagrams_are_shown_in_the_readers_language_and_under_the_sites_path(tmp_path):
    app = make_app(tmp_path / "no-build")
    html = diagrams.figure("graph TD\n  A --> B\n", "A → B", diagrams.Picture("l.svg", "d.svg", 10, 20))
    with app.test_request_context("/", base_url="http://example.com/school", headers={"Accept-Language": "zh-CN"}):
        shown = diagrams.localized(html)
    assert 'srcset="/school/static/diagrams/d.svg"' in shown and 'src="/school/static/diagrams/l.svg"' in shown
    assert "<summary>Diagram source (text)</summary>" not in shown and "<summary>" in shown
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert diagrams.localized(html) == html
    assert diagrams.localized("<p>No diagram</p>") == "<p>No diagram</p>"
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": '/s"><a href=x>'}):
        shown = diagrams.localized(html)
    assert '"><a' not in shown and 'src="/s&quot;&gt;&lt;a href=x&gt;/static/diagrams/l.svg"' in shown


def test_the_store_sees_a_diagram_rendered_after_it_was_first_read(tmp_path, monkeypatch):
    monkeypatch.setattr(diagrams, "DEFAULT_DIR", tmp_path)
    source = "graph TD\n  A --> B\n"
    assert diagrams.store().picture(source) is None
    for theme in diagrams.THEMES:
        svg = '<svg width="30" height="12" viewBox="0 0 30.4 12" xmlns="http://www.w3.org/2000/svg"></svg>'
        (tmp_path / diagrams.file_name(source, theme)).write_text(svg)
    picture = diagrams.store().picture(source)
    assert picture is not None and (picture.width, picture.height) == (30, 12)
