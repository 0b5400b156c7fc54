"""The design rules: the import contracts (import-linter), and importing only defines things."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), str(ROOT)])}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_the_import_contracts_of_pyproject_hold():
    """course_utils never imports course_tools, and has no import cycle."""
    result = _lint_imports()
    assert result.returncode == 0, result.stdout[-3000:]
    assert " 0 broken." in result.stdout


def test_the_notebooks_import_only_course_utils(tmp_path):
    """Each notebook's code (English and Chinese) becomes a module of a temporary package, checked with a
    forbidden contract. A probe module that imports course_tools shows that the check can fail."""
    package = tmp_path / "course_notebooks"
    package.mkdir()
    (package / "__init__.py").write_text("")
    notebooks = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("notebooks/zh/*.ipynb")])
    assert len(notebooks) >= 20
    for notebook in notebooks:
        code = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
        lines = [
            line for cell in code for line in cell.splitlines() if not line.lstrip().startswith(("%", "!"))
        ]
        language = notebook.parent.name if notebook.parent.name == "zh" else "en"
        (package / f"{language}_nb{notebook.stem}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (package / "probe.py").write_text("from course_tools import runner\n")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    course_notebooks\n    course_utils\n    course_tools\n\n"
        "[importlinter:contract:notebooks]\nname = The notebooks import only course_utils\ntype = forbidden\n"
        "source_modules = course_notebooks\nforbidden_modules = course_tools\n",
        encoding="utf-8",
    )
    result = _lint_imports("--config", str(tmp_path / ".importlinter"), cwd=tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    importers = set(re.findall(r"(\S+) -> course_tools", result.stdout))
    assert importers == {"course_notebooks.probe"}, result.stdout[-3000:]


def test_the_command_line_answers_without_tensorflow():
    code = (
        "import runpy, sys\n"
        "sys.argv = ['course_tools', 'run', '--help']\n"
        "try:\n"
        "    runpy.run_module('course_tools', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TF LOADED' if 'tensorflow' in sys.modules or 'keras' in sys.modules else 'NO TF')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "--epochs" in done.stdout and done.stdout.strip().endswith("NO TF"), done.stdout[-300:]


@pytest.mark.parametrize("module", ["course_utils.plots", "course_utils.digits", "course_utils.drawing_pad"])
def test_importing_a_plotting_module_changes_no_matplotlib_setting(module):
    """In a fresh interpreter that looks like a Jupyter kernel."""
    script = (
        "import json, sys, IPython, matplotlib\n"
        "calls = []\n"
        "class KernelShell:  # what get_ipython() returns in a Jupyter kernel\n"
        "    kernel = object()\n"
        "    def enable_matplotlib(self, gui=None):\n"
        "        calls.append(gui)\n"
        "backend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)\n"
        "IPython.get_ipython = lambda: KernelShell()\n"
        f"import {module}\n"
        "IPython.get_ipython = lambda: None  # reading the backend below asks IPython again\n"
        "same = matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == params\n"
        "print(json.dumps({'calls': calls, 'same': same}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["calls"] == [], f"importing {module} switched the inline backend"
    assert outcome["same"], f"importing {module} changed matplotlib's backend or settings"
