"""The package's design rules: no import loops, lesson helpers never reach up into the instructors' tools,
and importing any module only defines things (no TensorFlow, no matplotlib setting changed)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import course_utils

PACKAGE = Path(course_utils.__file__).resolve().parent
NOTEBOOKS = PACKAGE.parent / "notebooks"
# The instructors' tools: the command line, the runner, CI's checks, the translation build. Lesson helpers
# (what notebooks import) never import these; these may import lesson helpers.
INSTRUCTOR_MODULES = {
    "course_utils.__main__",
    "course_utils.cli",
    "course_utils.runner",
    "course_utils.nbcheck",
    "course_utils.translate",
    "course_utils.floors_plugin",
}
# Lesson modules that import Keras (and so TensorFlow) at the top, as the lesson does.
KERAS_MODULES = {"course_utils.models", "course_utils.training", "course_utils.distribute"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, name: str | None = None) -> set[str]:
    """The course_utils modules that ``path`` (module ``name``) imports anywhere: at the top, in functions,
    under ``if``."""
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:  # "from pkg import submodule" imports the submodule; else the module
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {module for module in found if module in MODULES and module != name}


def import_graph() -> dict[str, set[str]]:
    return {name: imported_modules(path) for name, path in MODULES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as a list of modules (first == last), or None when the graph has none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_import_walk_sees_function_level_imports_and_finds_a_loop(tmp_path):
    # The checker itself: a loop hidden in a function is found and named.
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import course_utils\n"
        "def f():\n"
        "    from course_utils import runner\n"
        "    if True:\n"
        "        from course_utils.data import load_dataset\n"
        "    from . import plots\n"
    )
    assert imported_modules(probe, "course_utils.probe") == {
        "course_utils",
        "course_utils.runner",
        "course_utils.data",
        "course_utils.plots",
    }
    assert "course_utils.runner" in imported_modules(PACKAGE / "cli.py")
    assert "course_utils.nbcheck" in imported_modules(PACKAGE / "cli.py")


def test_course_utils_has_no_import_loop():
    graph = import_graph()
    assert len(graph) > 20, "every module of the package is walked"
    cycle = find_cycle(graph)
    assert cycle is None, f"import loop: {' -> '.join(cycle)}"


def test_lesson_modules_never_import_the_instructors_tools():
    upward = {
        f"{name} imports {sorted(targets & INSTRUCTOR_MODULES)}"
        for name, targets in import_graph().items()
        if name not in INSTRUCTOR_MODULES and targets & INSTRUCTOR_MODULES
    }
    assert not upward, upward


def notebook_imports(path: Path) -> set[str]:
    """The modules a notebook's code cells import (IPython magics and shell lines left out)."""
    found = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        code = "\n".join(
            line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(
    "notebook",
    sorted([*NOTEBOOKS.glob("*.ipynb"), *NOTEBOOKS.glob("zh/*.ipynb")]),
    ids=lambda p: str(p.relative_to(NOTEBOOKS)),
)
def test_notebooks_import_only_lesson_helpers(notebook):
    used = notebook_imports(notebook) & INSTRUCTOR_MODULES
    assert not used, f"{notebook.name} imports the instructors' {sorted(used)}"


def test_notebooks_call_quiet_tensorflow_logs_in_their_setup_cell():
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        code = [
            cell.source for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"
        ]
        setup = next(source for source in code if "check_params(" in source)
        assert "course_utils.quiet_tensorflow_logs()" in setup, notebook.name
        earlier = code[: code.index(setup)]
        assert not any("keras" in source or "tensorflow" in source for source in earlier), notebook.name


@pytest.mark.parametrize("folder", ["", "zh"], ids=["en", "zh"])
def test_notebooks_that_draw_show_figures_inline_from_their_setup_cell(folder):
    """A notebook that shows a course figure calls ``plots.show_figures_inline()`` in its setup cell; without
    it the returned Figures are text ("<Figure size ...>") in JupyterLab and in executed notebooks."""
    drawing = []
    for notebook in sorted((NOTEBOOKS / folder).glob("*.ipynb")):
        code = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
        setup = next(source for source in code if "check_params(" in source)
        if any(re.search(r"\b(plots|digits)\.(show|plot)_\w+\(", source) for source in code):
            drawing.append(notebook.name)
            assert "plots.show_figures_inline()" in setup, notebook.name
    assert "02_visualization.ipynb" in drawing and "05_prediction.ipynb" in drawing


def test_the_command_line_and_the_runner_do_not_import_tensorflow():
    names = sorted(set(MODULES) - KERAS_MODULES - {"course_utils.__main__"})
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [], f"importing {names} loaded {done.stdout.strip()}"
    assert "course_utils.cli" in names and "course_utils.runner" in names and "course_utils.plots" in names


def test_run_help_answers_without_tensorflow():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['course_utils', 'run', '--help']\n"
        "try:\n"
        "    runpy.run_module('course_utils', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('TF LOADED' if 'tensorflow' in sys.modules else 'NO TF')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--epochs" in done.stdout and done.stdout.strip().endswith("NO TF"), done.stdout[-300:]


@pytest.mark.parametrize("module", ["course_utils.plots", "course_utils.digits", "course_utils.drawing_pad"])
def test_importing_a_plotting_module_changes_no_matplotlib_setting(module):
    """In a fresh interpreter that looks like a Jupyter kernel (not by reloading the module here, which would
    give the other tests' imported classes a second identity)."""
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
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PACKAGE.parent, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["calls"] == [], f"importing {module} switched the inline backend"
    assert outcome["same"], f"importing {module} changed matplotlib's backend or settings"
