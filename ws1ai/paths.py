"""Path parameters are confined to the folders this worker configures.

Anyone who can create a flow run chooses its parameters, and several name files the worker then reads (a
model, a candidate list that decides which apps are uninstalled where, a bundle list that decides what is
installed) or a folder it writes to. Such a path must resolve — relative to the working directory, with
every symlink followed — inside `WorkerSettings.data_dir` (`WS1AI_DATA_DIR`, default: the project's `data/`)
or one of `allowed_dirs` (`WS1AI_ALLOWED_DIRS`); otherwise the run fails before it reads anything, with one
line naming the parameter. A model file is also read with its JSON sidecar (`<path>.json`): both are checked.

What a confined file may contain is the loader's concern: models load through models/registry.py, which
accepts only the skops types of its allow-list and refuses anything that could run code.
"""

from __future__ import annotations

import os
from pathlib import Path

from ws1ai.settings import WorkerSettings

__all__ = ["PathNotAllowedError", "allowed_roots", "confine"]


class PathNotAllowedError(ValueError):
    """A path parameter names a file or folder outside this worker's data directories."""


def allowed_roots(settings: WorkerSettings | None = None) -> list[Path]:
    settings = settings or WorkerSettings()
    return [Path(root).resolve() for root in (settings.data_dir, *settings.allowed_dirs)]


def confine(
    value: str | os.PathLike[str],
    parameter: str,
    settings: WorkerSettings | None = None,
    *,
    companions: tuple[str, ...] = (),
) -> Path:
    """`value` resolved, when it and each `<value><suffix>` of `companions` lie inside an allowed root.

    Resolving first (symlinks followed, `..` collapsed) is what makes the check mean anything: a link in
    the data folder pointing at /etc is outside it.
    """
    roots = allowed_roots(settings)
    try:
        resolved = Path(value).resolve()
        extra = [Path(f"{value}{suffix}").resolve() for suffix in companions]
    except (OSError, ValueError) as exc:  # a NUL byte, a symlink loop
        raise PathNotAllowedError(f"{parameter}={str(value)!r} is not a usable path: {exc}") from None
    for path in (resolved, *extra):
        if not any(path.is_relative_to(root) for root in roots):
            raise PathNotAllowedError(
                f"{parameter}={str(value)!r} resolves to {path}, outside this worker's data directories "
                f"({', '.join(map(str, roots))}): put it under WS1AI_DATA_DIR or add its folder to "
                "WS1AI_ALLOWED_DIRS"
            )
    return resolved
