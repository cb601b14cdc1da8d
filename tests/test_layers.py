"""The layering contract: the product core (streams, features, learners, serving) never imports the simulator,
directly or through another module; `lint-imports` checks the contracts in pyproject.toml."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path, config: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(extra_path or cwd)}
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def test_the_project_keeps_its_import_contracts():
    result = lint(REPO, REPO / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_contract_breaks_on_a_core_module_importing_the_simulator_even_indirectly(tmp_path):
    """The same contract, on a tree where learners reaches the simulator through a helper of features."""
    for package, body in {"infra": "", "streams": "", "serving": "", "bench": "",
                          "simulator": "", "features": "from simulator import world\n",
                          "learners": "import features\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(body)
    (tmp_path / "simulator" / "world.py").write_text("")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = [f"[importlinter]\nroot_packages =\n    " + "\n    ".join(config["root_packages"])]
    for n, contract in enumerate(config["contracts"]):
        lines.append(f"[importlinter:contract:{n}]\nname = {contract['name']}\ntype = {contract['type']}")
        for key in ("source_modules", "forbidden_modules"):
            lines.append(f"{key} =\n    " + "\n    ".join(contract[key]))
    ini = tmp_path / ".importlinter"
    ini.write_text("\n".join(lines) + "\n")
    result = lint(tmp_path, ini)
    assert result.returncode == 1 and "BROKEN" in result.stdout
    assert "learners -> features" in result.stdout.replace("\n", " ") or "features -> simulator" in result.stdout
