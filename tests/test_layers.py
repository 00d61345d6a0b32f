"""Dependencies point one way: the library (`ws1ai/`, `models/`) never names the app layer (`flows/`,
`tasks/`, `deployments/`), and models/health_training sits below models/health, not beside it in a cycle.

Read from the source (every import, also inside functions, and every string that is an import path), so a
lazy import or a configured "module:attr" cannot hide an arrow pointing up.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_LAYER = ("flows", "tasks", "deployments")
# The console entry point mounts every area's commands (the webhook receiver lives in deployments/): it is the
# composition root, the one library file allowed to know the app layer.
COMPOSITION_ROOT = ROOT / "ws1ai" / "cli.py"
_IMPORT_PATH = re.compile(r"^(?:flows|tasks|deployments)(?:\.\w+)+(?::\w+)?$")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Constant) and _IMPORT_PATH.match(str(node.value)):
            found.add(str(node.value).partition(":")[0])  # e.g. a default "tasks.actions:open_executor"
    return found


def _library_files() -> list[Path]:
    files = [*(ROOT / "ws1ai").rglob("*.py"), *(ROOT / "models").rglob("*.py")]
    return sorted(p for p in files if p != COMPOSITION_ROOT)


def test_the_library_never_names_the_app_layer() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in mods if m.split(".")[0] in APP_LAYER)
        for path in _library_files()
        if (mods := _imports(path))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_health_training_is_below_health() -> None:
    assert "models.health_training" in _imports(ROOT / "models" / "health.py")
    assert "models.health" not in _imports(ROOT / "models" / "health_training.py")


def test_every_library_setting_is_importable_from_ws1ai_settings() -> None:
    import importlib

    import ws1ai.settings

    defined: dict[str, str] = {}
    for path in sorted((ROOT / "ws1ai").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and b.id == "BaseSettings" for b in node.bases
            ):
                module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                defined[node.name] = module
    assert {"UEMSettings", "GovernanceSettings"} <= set(defined)
    for name, module in defined.items():
        assert name in ws1ai.settings.__all__, f"{module}.{name} is not listed in ws1ai.settings"
        assert getattr(ws1ai.settings, name) is getattr(importlib.import_module(module), name)


def test_a_flow_run_that_needs_no_estimator_does_not_import_scikit_learn() -> None:
    """Each flow run in a process worker imports its flow module before its first line: scikit-learn (via
    `models/__init__` and skops in `models.registry`) was about 1.5 CPU-s and 100 MB of that for compliance
    triage, which loads a model only when given one. Checked in a fresh interpreter."""
    import subprocess
    import sys

    probe = "import sys, flows.compliance_triage, models.registry; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
