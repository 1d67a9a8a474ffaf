"""The command line speaks English: messages the services translate (a password problem, an account error)
come out in English like the commands' own, not in the default locale (Chinese) a request-less app falls
back to."""

from __future__ import annotations

import pytest
from flask_babel import get_locale

from course.i18n import speak_english


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Error: Use 8 to 128 characters."),
        ("password123", "Error: This password is one of the most common ones; please choose another."),
    ],
)
def test_users_create_explains_a_bad_password_in_english(app, password, message):
    result = app.test_cli_runner().invoke(args=["users", "create", "a@example.com"], input=f"{password}\n")
    assert result.exit_code == 1
    assert message in result.output
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in result.output), result.output


def test_the_locale_is_english_inside_every_command_and_chinese_again_after(app):
    seen = []
    users = app.cli.commands["users"]

    @users.command("probe-locale")
    def probe() -> None:
        seen.append(str(get_locale()))

    try:
        result = app.test_cli_runner().invoke(args=["users", "probe-locale"])
        assert result.exit_code == 0, result.output
    finally:
        del users.commands["probe-locale"]  # the group is the module's, shared by every app
    assert seen == ["en"]
    with app.test_request_context(headers={"Accept-Language": "zh"}):
        assert str(get_locale()) == "zh_Hans"  # the web is not touched


def test_every_command_group_of_the_app_speaks_english(app):
    groups = {name: cmd for name, cmd in app.cli.commands.items() if hasattr(cmd, "commands")}
    assert {"content", "users", "demo"} <= set(groups)
    # `flask db …` is Flask-Migrate's: Alembic's messages, in English, nothing of ours translated.
    wrong = [name for name, group in groups.items() if name != "db" and group.callback is not speak_english]
    assert not wrong, f"command groups without callback=speak_english: {wrong}"
