"""Every `ws1ai` command explains itself: `--help` works and says something on each command and group."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from ws1ai.cli import app


def _command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        paths.append(prefix)
        # typer ships its own click; duck-type groups rather than depend on which click class it is.
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


PATHS = _command_paths()


def test_the_cli_has_the_commands_the_readme_promises() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"sandbox serve", "fleet generate", "demo"} <= names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "ws1ai")
def test_help(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    # Beyond the usage line there is an explanation (typer prints the docstring/help text).
    assert len(result.output.strip().splitlines()) > 3
