"""The models package stays pure: no Prefect, no HTTP client."""

from __future__ import annotations

import ast
from pathlib import Path

import models


def test_models_import_neither_prefect_nor_httpx() -> None:
    root = Path(models.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"prefect", "httpx", "ws1ai"}, f"{path.name} imports {name}"
