"""The shape of the code (docs/ARCHITECTURE.md): packages in layers that never import upward, no import cycle
inside a package, and modules that do one job — none longer than MAX_LINES."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

MAX_LINES = 400


def test_packages_keep_their_layers_and_have_no_cycles():
    """`lint-imports` with the contracts in pyproject.toml (also run by `make lint`). In a process of its own:
    it configures logging with dictConfig, which would silence the app's loggers in this one."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_built_app_receives_every_signal():
    """In a fresh process, as a web worker or the CLI starts: every signal a lower layer sends has a receiver."""
    code = (
        "from course import create_app, signals\n"
        "create_app('testing', cli=False)\n"
        "names = ('content_loaded', 'attempt_recorded', 'user_renamed', 'course_completed')\n"
        "print(' '.join(str(len(getattr(signals, name).receivers)) for name in names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(int(count) >= 1 for count in done.stdout.split()), done.stdout


@pytest.mark.parametrize("path", sorted((ROOT / "course").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what its parts do"
