"""The app must import from anywhere once installed, as `pytest`, gunicorn or `flask --app course` do."""

import subprocess
import sys


def test_the_installed_app_imports_outside_the_project_root(tmp_path):
    # `pip install -e .` installs the `course` package; everything it imports must come with it.
    result = subprocess.run(
        [sys.executable, "-c", "import course; course.create_app('testing')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
