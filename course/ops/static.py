"""Static files, served by WhiteNoise in front of the app: gzip and brotli copies made ahead of time, and names that
carry a hash of their content, so a browser keeps each file for a year and never asks again.

`flask static build` (run by `make setup`) copies every file of course/static to its hashed name in
`STATIC_BUILD_DIR` (build/static, not committed), compresses it, and writes the manifest that `url_for('static', …)`
reads: `css/app.css` → `css/app.1a2b3c4d5e6f.css`. The rendered diagrams (course/content/diagrams.py) are named by
their hash already and are copied as they are, under diagrams/. The hashed files of the last `KEEP_BUILDS` builds stay
in the folder, so a page served before a deploy (or by an instance not restarted yet) still finds its files; build
once and ship the same folder to every instance. A static file or diagram changed since the build is linked and
served under its plain name (revalidated on each use) until the next build; so is everything without a build.

WhiteNoise lists the files, with their sizes, when the app starts (once per process, for all the apps made with
the same folders and build); a file changed afterwards is served as it was listed, so restart after editing one.
Except with `STATIC_AUTOREFRESH` (development, `make run`) or in debug mode: then each request looks at the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request, url_for
from whitenoise import WhiteNoise

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.\w+$")
DIAGRAM_NAME = re.compile(r"/diagrams/[0-9a-f]{20}\.svg$")
YEAR = 365 * 24 * 3600
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"


def _hashed_name(relative: str, data: bytes) -> str:
    stem, dot, suffix = relative.rpartition(".")
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{relative}.{digest}"


def _source_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix not in (".gz", ".br")
    )


CSS_URL = re.compile(rb"""url\(\s*(["']?)([^"')\s]+)\1\s*\)""")


def _with_hashed_urls(css: bytes, relative: str, files: Mapping[str, str]) -> bytes:
    """A stylesheet whose relative url(…) references name the hashed files (a font is then cached for good too)."""
    folder = posixpath.dirname(relative)

    def hashed(match: re.Match) -> bytes:
        quote, url = match.group(1), match.group(2).decode()
        if url.startswith(("data:", "/", "#")) or "://" in url:
            return match.group(0)
        path, _, rest = url.partition("?")
        target = posixpath.normpath(posixpath.join(folder, path))
        if target not in files:
            return match.group(0)
        new = posixpath.relpath(files[target], folder or ".")
        return b"url(" + quote + new.encode() + (b"?" + rest.encode() if rest else b"") + quote + b")"

    return CSS_URL.sub(hashed, css)


KEEP_BUILDS = 3  # a deploy keeps the hashed files of this many builds (its own and the ones before)


def _stat(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _previous_builds(target: Path) -> list[list[str]]:
    try:
        builds = json.loads((target / MANIFEST).read_text()).get("builds", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [names for names in builds if isinstance(names, list)] if isinstance(builds, list) else []


def _copy_forward(builds: list[list[str]], old: Path, fresh: Path) -> None:
    """The earlier builds' files (and their compressed copies) into the new one: the same bytes under the same names."""
    for names in builds:
        for name in names:
            if not isinstance(name, str) or name.startswith("/") or ".." in name.split("/"):
                continue
            for variant in (name, f"{name}.gz", f"{name}.br"):
                source, copy = old / variant, fresh / variant
                if source.is_file() and not copy.exists():
                    copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source, copy)


def build(static_dir: Path, diagrams_dir: Path, target: Path, keep: int = KEEP_BUILDS) -> dict[str, str]:
    """Write the hashed, compressed copies and the manifest into `target` (replaced whole, in one rename), keeping
    the files of the `keep - 1` builds before: a worker or instance still on one of them finds its files."""
    from whitenoise.compress import Compressor  # only the build compresses: brotli is not loaded by the server

    fresh = target.with_name(target.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    files: dict[str, str] = {}
    sources: dict[str, list[int] | None] = {}
    written: list[Path] = []
    # Stylesheets last: their url(…) references are rewritten to the hashed names, and their hash is of that text.
    for path in sorted(_source_files(static_dir), key=lambda p: p.suffix == ".css"):
        relative = path.relative_to(static_dir).as_posix()
        data = path.read_bytes()
        if path.suffix == ".css":
            data = _with_hashed_urls(data, relative, files)
        files[relative] = _hashed_name(relative, data)
        sources[relative] = _stat(path)
        written.append(fresh / files[relative])
        written[-1].parent.mkdir(parents=True, exist_ok=True)
        written[-1].write_bytes(data)
    diagrams: dict[str, list[int] | None] = {}
    for path in _source_files(diagrams_dir):
        if path.suffix == ".svg":
            written.append(fresh / "diagrams" / path.name)
            written[-1].parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, written[-1])
            diagrams[path.name] = _stat(path)
    compressor = Compressor(quiet=True)
    for path in written:
        if compressor.should_compress(path.name):
            compressor.compress(str(path))
    names = sorted(path.relative_to(fresh).as_posix() for path in written)
    builds = [names, *_previous_builds(target)][: max(keep, 1)]
    _copy_forward(builds[1:], target, fresh)
    manifest = {"files": files, "sources": sources, "diagrams": diagrams, "builds": builds}
    (fresh / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return files


def _read(build_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((build_dir / MANIFEST).read_text())
        if isinstance(data["files"], dict) and isinstance(data["sources"], dict):
            return data
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {"files": {}, "sources": {}}


def read_manifest(build_dir: Path, static_dir: Path) -> dict[str, str]:
    """The hashed name of every static file unchanged since the build (size and time as the build saw them)."""
    data = _read(build_dir)
    files, sources = data["files"], data["sources"]
    current = {relative: hashed for relative, hashed in files.items() if _fresh(sources, relative, static_dir)}
    if len(current) < len(files):
        log.warning("%d static file(s) changed since `flask static build`: run `make setup`", len(files) - len(current))
    return current


def _fresh(sources: Mapping[str, Any], relative: str, folder: Path) -> bool:
    return sources.get(relative) is not None and sources.get(relative) == _stat(folder / relative)


def stale_diagrams(build_dir: Path, diagrams_dir: Path) -> list[str]:
    """The built diagram copies whose file in `diagrams_dir` changed or went since the build: not to be served."""
    built = _read(build_dir).get("diagrams")
    if not isinstance(built, dict):  # a build from before diagrams were recorded: trust none of its copies
        folder = build_dir / "diagrams"
        return sorted(p.name for p in folder.glob("*.svg")) if folder.is_dir() else []
    return sorted(name for name in built if not _fresh(built, name, diagrams_dir))


def is_immutable(path: str, url: str) -> bool:
    """A name that carries its content's hash: a hashed copy, or a rendered diagram."""
    return bool(HASHED_NAME.search(url) or DIAGRAM_NAME.search(url))


class Server(WhiteNoise):
    """WhiteNoise, which answers a file gone since it listed it (a build replaced by a newer one) with the app's 404
    rather than an error; and never serves the manifest."""

    hidden: frozenset[str] = frozenset()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        try:
            return super().__call__(environ, start_response)
        except FileNotFoundError:
            log.warning("static file gone since the app started: %s", environ.get("PATH_INFO"))
            return self.application(environ, start_response)

    def find_file(self, url: str) -> Any:  # autorefresh: each request looks for its file
        return None if url in self.hidden else super().find_file(url)


# The file table WhiteNoise makes at startup, per process: each app made with the same folders, build and headers
# (the tests make one per test) shares it rather than listing every file again.
_TABLES: dict[tuple, dict[str, Any]] = {}


def _file_table(server: Server, folders: list[tuple[Path, str]], stale: dict[str, Path], key: tuple) -> dict[str, Any]:
    if (table := _TABLES.get(key)) is None:
        for folder, url in folders:
            if folder.is_dir():
                server.add_files(str(folder), url)
        table = server.files
        for url in server.hidden:
            table.pop(url, None)
        for url, path in stale.items():  # a built copy of an older file: the file itself, if it is still there
            table.pop(url, None)
            if path.is_file():
                server.add_file_to_dictionary(url, str(path))
        while len(_TABLES) >= 8:
            _TABLES.pop(next(iter(_TABLES)))
        _TABLES[key] = table
    return table


def init_app(app: Flask, headers: Mapping[str, str]) -> None:
    """Serve the static files with WhiteNoise (with `headers`: the site's security headers) and link them by their
    hashed names. Files only: nothing in front of the app but a dictionary lookup of the path."""
    static_dir = Path(app.static_folder or "")
    prefix = f"{app.static_url_path}/"
    build_dir = Path(app.config["STATIC_BUILD_DIR"])
    diagrams_dir = Path(app.config["DIAGRAMS_DIR"])
    autorefresh = bool(app.debug or app.config.get("STATIC_AUTOREFRESH"))
    manifest = read_manifest(build_dir, static_dir)
    stale = stale_diagrams(build_dir, diagrams_dir)

    def add_headers(response_headers: Any, path: str, url: str) -> None:
        for name, value in headers.items():
            response_headers[name] = value
        if url.endswith(".svg"):  # opened by itself (not as an image): its own <style> applies, nothing else runs
            response_headers["Content-Security-Policy"] = SVG_CSP
        if is_immutable(path, url):
            response_headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        else:  # a plain name: the file may change, so it is checked on each use
            response_headers["Cache-Control"] = "no-cache"

    server = Server(
        app.wsgi_app,
        max_age=YEAR,
        allow_all_origins=False,
        add_headers_function=add_headers,
        immutable_file_test=is_immutable,
        autorefresh=autorefresh,
    )
    server.hidden = frozenset({f"{prefix}{MANIFEST}"})
    # Later directories win for the same URL: the built copies (compressed) over the plain files, except the built
    # diagrams changed since the build (then the diagram's own file answers, or nothing if it is gone).
    folders = [(static_dir, prefix), (diagrams_dir, f"{prefix}diagrams/"), (build_dir, prefix)]
    changed = {f"{prefix}diagrams/{name}": diagrams_dir / name for name in stale}
    if autorefresh:
        for folder, url in folders:
            server.add_files(str(folder), url)
        # Looked up in order: the diagrams' folder before the build.
        server.directories.sort(key=lambda entry: entry[1] == f"{prefix}diagrams/", reverse=True)
        server.hidden |= {url for url, path in changed.items() if not path.is_file()}
    else:
        built = tuple(_stat(build_dir / MANIFEST) or ())
        folder_names = tuple(str(folder.resolve()) for folder, _ in folders)
        key = (*folder_names, prefix, built, tuple(stale), tuple(sorted(headers.items())))
        server.files = _file_table(server, folders, changed, key)
    app.wsgi_app = server

    sources = _read(build_dir)["sources"] if autorefresh else {}

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and (hashed := manifest.get(filename := values.get("filename", ""))):
            if autorefresh and not _fresh(sources, filename, static_dir):  # edited since: its plain name
                return
            values["filename"] = hashed

    # `static_url(filename)` in a template: `url_for('static', filename=…)`, worked out once per file while the
    # process runs (the manifest is read at start), for the application root of the request (one kept per file).
    # Every page links the same four files in its <head>. Not kept with autorefresh: a file may change.
    known: dict[str, tuple[str, str]] = {}

    def static_url(filename: str) -> str:
        root = request.script_root
        kept = known.get(filename)
        if kept is not None and kept[0] == root:
            return kept[1]
        url = url_for("static", filename=filename)
        if not autorefresh:
            known[filename] = (root, url)
        return url

    app.jinja_env.globals["static_url"] = static_url
