"""Versioned prompts: `<name>.v<N>.md`; the newest version is used and recorded with each decision."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Prompt", "load_prompt"]

_NAME = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.md$")


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    text: str

    @property
    def ref(self) -> str:
        """What audit records carry, e.g. `compliance_triage@v1`."""
        return f"{self.name}@v{self.version}"


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """Load the newest (or the given) version of a prompt shipped in this package."""
    found: dict[int, str] = {}
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match and match["name"] == name:
            found[int(match["version"])] = entry.read_text(encoding="utf-8")
    if not found:
        raise KeyError(f"no prompt named {name!r} in {__package__}")
    chosen = version if version is not None else max(found)
    if chosen not in found:
        raise KeyError(f"prompt {name!r} has versions {sorted(found)}, not v{chosen}")
    return Prompt(name=name, version=chosen, text=found[chosen])
