"""One place where the `ws1ai` command line turns failures into one readable line and a non-zero exit.

A person running `ws1ai` gets what went wrong and what to do, on one line of stderr; the traceback only with
`ws1ai --verbose …`. The root command group (`WS1Group`) wraps every command, so no command needs its own
try/except for the project's typed errors (UEM, connectors, settings/parameter validation, data files), and a
command that needs a Prefect server is refused before it starts when none answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer vendors click
from typer.core import TyperGroup

__all__ = [
    "EXIT_ERROR",
    "EXIT_USAGE",
    "WS1Group",
    "describe",
    "needs_prefect_server",
    "quiet_tracebacks",
]

EXIT_ERROR = 1  # the command ran and failed (tenant, server, data)
EXIT_USAGE = 2  # the command was given something it cannot use (click's convention)

# Commands that talk to a Prefect server: (command, subcommand or None = all of them).
_SERVER_GROUPS = {"approvals", "audit"}
_SERVER_COMMANDS = {"rollback"}  # `run` checks itself, after validating its parameters
_LOCAL_SUBCOMMANDS = {"issue-token", "hash-secret", "keygen"}  # approvals helpers that work offline
_HELP = {"--help", "-h"}


def needs_prefect_server(args: Sequence[str]) -> bool:
    """Whether the command line `args` (after the root options) runs something that needs a Prefect server."""
    words = [a for a in args if not a.startswith("-")]
    if not words or _HELP & set(args):
        return False
    if words[0] in _SERVER_COMMANDS:
        return True
    return words[0] in _SERVER_GROUPS and len(words) > 1 and words[1] not in _LOCAL_SUBCOMMANDS


def _pydantic_line(exc: Any) -> str:
    """A pydantic ValidationError in one line: each failing field with its message."""
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ())) or exc.title
        parts.append(f"{where}: {err.get('msg', '')}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return f"invalid {exc.title}: " + "; ".join(parts) + more


def describe(exc: BaseException) -> tuple[str, int]:
    """(one line saying what is wrong and what to do, exit code) for an exception a command raised."""
    from pydantic import ValidationError

    from ws1ai.connectors.http import ConnectorError
    from ws1ai.stack_env import NoPrefectServer
    from ws1ai.uem.errors import (
        UEMConnectionError,
        UEMError,
        UEMForbidden,
        UEMTimeout,
        UEMUnauthorized,
    )

    if isinstance(exc, NoPrefectServer):
        return str(exc), EXIT_ERROR
    if isinstance(exc, ClickException):  # bad option values, unknown options, BadParameter from commands
        return exc.format_message(), EXIT_USAGE
    if isinstance(exc, ValidationError):
        return _pydantic_line(exc), EXIT_USAGE
    if isinstance(exc, UEMUnauthorized):
        return (
            f"the UEM tenant refused the credentials ({exc}): check WS1_USERNAME/WS1_PASSWORD "
            "(or WS1_CLIENT_ID/WS1_CLIENT_SECRET with WS1_AUTH_MODE=oauth)",
            EXIT_ERROR,
        )
    if isinstance(exc, UEMForbidden):
        return f"the UEM tenant refused the request ({exc}): check WS1_TENANT_CODE and the admin's role", 1
    if isinstance(exc, UEMTimeout):
        return f"the UEM tenant did not answer in time ({exc}): check WS1_BASE_URL and the network", 1
    if isinstance(exc, UEMConnectionError):
        return f"cannot reach the UEM tenant ({exc}): check WS1_BASE_URL, or start the stack (`make run`)", 1
    if isinstance(exc, UEMError):
        return f"UEM: {exc}", EXIT_ERROR
    if isinstance(exc, ConnectorError):
        return f"{exc} (check that service's *_BASE_URL and credentials)", EXIT_ERROR
    text = " ".join(str(exc).split()) or type(exc).__name__
    module = type(exc).__module__
    if module.startswith(("polars", "pyarrow")):
        return f"cannot read a data file: {text}", EXIT_ERROR
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return text, EXIT_ERROR
    return f"{type(exc).__name__}: {text} (run `ws1ai --verbose …` for the traceback)", EXIT_ERROR


def _verbose(ctx: Any) -> bool:
    return bool((ctx.find_root().params or {}).get("verbose"))


class WS1Group(TyperGroup):
    """The root group: refuse early without a Prefect server, and report any failure in one line."""

    def before(self, ctx: Any) -> None:
        """Checks that come before anything else (the app's subclass adds its own)."""

    def invoke(self, ctx: Any) -> Any:
        args = [*ctx._protected_args, *ctx.args]  # not yet consumed by the subcommand (see TyperGroup)
        verbose = _verbose(ctx)
        try:
            self.before(ctx)
            if needs_prefect_server(args):
                from ws1ai.stack_env import require_prefect_server

                require_prefect_server()
            if verbose:
                return super().invoke(ctx)
            with quiet_tracebacks():
                return super().invoke(ctx)
        except (typer.Exit, typer.Abort, NoArgsIsHelpError):  # `ws1ai approvals` alone prints its help
            raise
        except BrokenPipeError:  # `ws1ai … | head`: the reader left; nothing to tell it
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:
            if verbose:
                raise
            line, code = describe(exc)
            typer.echo(f"error: {line}", err=True)
            raise typer.Exit(code) from None


class _NoTraceback(logging.Formatter):
    """Formats with another formatter, minus the traceback (which stays on the record for other handlers)."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


@contextmanager
def quiet_tracebacks() -> Iterator[None]:
    """Console log handlers print messages without tracebacks (a flow run's failure is still in Prefect's
    logs and UI with its traceback; `--verbose` keeps them on the console too)."""
    # Prefect installs its console handler when `prefect.main` is first imported (a flow module's
    # `from prefect import flow`), which would replace handlers swapped before it: install them now.
    import prefect.main  # noqa: F401

    swapped: list[tuple[logging.Handler, logging.Formatter | None]] = []
    names = [None, *logging.root.manager.loggerDict]
    for name in names:
        logger = logging.getLogger(name)
        for handler in getattr(logger, "handlers", []):
            stream = getattr(handler, "stream", None)
            if stream is None or any(h is handler for h, _ in swapped):
                continue  # API/file handlers keep the traceback
            swapped.append((handler, handler.formatter))
            handler.setFormatter(_NoTraceback(handler.formatter))
    try:
        yield
    finally:
        for handler, formatter in swapped:
            handler.setFormatter(formatter)  # None restores the default
