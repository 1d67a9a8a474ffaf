"""The Mermaid library is installed by the setup command (npm) into static/vendor; the app serves it."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

VENDOR_FILE = Path(__file__).resolve().parent.parent / "static" / "vendor" / "mermaid.min.js"


def mermaid_available(app: Flask) -> bool:
    cached = app.extensions.get("mermaid_available")
    if cached is None:
        cached = app.extensions["mermaid_available"] = VENDOR_FILE.is_file()
    return cached
