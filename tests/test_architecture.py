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


@pytest.mark.parametrize("path", sorted((ROOT / "course").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_400_lines(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what its parts do"
