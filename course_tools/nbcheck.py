"""What CI checks in the notebooks, and how the committed reference outputs are made.

CI prepares each notebook with papermill at reduced parameters (``prepare_ci_notebooks``, nothing executed),
then ``pytest --nbval-lax`` executes the copies: any error fails, and the cells tagged
``nbval-check-output`` must print what the committed notebooks show. ``refresh_outputs`` re-makes those
committed outputs after an intended change; ``notebook_problems`` keeps the committed files clean.
"""

from __future__ import annotations

import ast
import re
import tempfile
from pathlib import Path

from course_tools.floors import add_figures_cell
from course_tools.runner import KERNEL_QUIET, declared_subset, find_notebooks
from course_utils.params import PARAMETER_NAMES, unknown_parameter_message

CHECK_TAG = "nbval-check-output"
# Reduced parameters for CI: one epoch on data that never needs the network.
CI_PARAMETERS = {"epochs": 1, "data_source": "sample"}  # the shipped sample: the same on every machine
# Notebooks whose learning floor needs more than one epoch to be reliable (course_tools/floors.csv says so).
CI_NOTEBOOK_PARAMETERS: dict[str, dict] = {"07_better_model": {"epochs": 3}}
# The Chinese notebooks CI runs under nbval (in build/ci/zh): the core lesson. The runner tests run the rest.
CI_CHINESE_NOTEBOOKS = ("00", "01", "02", "03", "04", "05")


def ci_parameters(notebook: str | Path) -> dict:
    """CI's parameters for one notebook (a path or a stem): ``CI_PARAMETERS`` with its own changes."""
    return {**CI_PARAMETERS, **CI_NOTEBOOK_PARAMETERS.get(Path(notebook).stem, {})}


def assigned_names(source: str) -> list[str]:
    """The names a cell assigns at its top level (``epochs = 10``), in order; [] if it is not Python."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    ]


def is_checked(cell) -> bool:
    """Whether nbval compares this cell's output (tag, or nbval's comment marker)."""
    return CHECK_TAG in cell.get("metadata", {}).get("tags", []) or "# NBVAL_CHECK_OUTPUT" in cell.source


def prepare_ci_notebooks(
    output_dir: str | Path,
    notebooks_dir: str | Path = "notebooks",
    only: list[str] | tuple[str, ...] | None = None,
) -> list[Path]:
    """Parameterise the notebooks for CI with papermill, without executing, into ``output_dir``.

    The copies keep the committed outputs, which nbval compares against; artifacts go to
    ``output_dir/artifacts``. Each notebook gets ``ci_parameters`` (the names its parameters cell declares),
    and the cell that records its figures for the learning floors (``course_tools.floors``).
    """
    import nbformat
    import papermill

    output_dir = Path(output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    prepared = []
    for notebook in find_notebooks(notebooks_dir, only=only):
        target = output_dir / notebook.name
        values = {**ci_parameters(notebook), "artifacts_dir": str(output_dir / "artifacts")}
        nb = papermill.execute_notebook(
            str(notebook),
            None,
            parameters=declared_subset(notebook, values),
            prepare_only=True,
            progress_bar=False,
        )
        add_figures_cell(nb, notebook.stem)
        nbformat.write(nb, target)
        prepared.append(target)
    return prepared


def prepare_ci(output_dir: str | Path, notebooks_dir: str | Path = "notebooks") -> list[Path]:
    """``prepare-ci``: every English notebook into ``output_dir``, and the Chinese core notebooks
    (``CI_CHINESE_NOTEBOOKS`` of ``notebooks/zh``) into ``output_dir/zh``, with artifacts of their own."""
    chinese = Path(notebooks_dir) / "zh"
    return prepare_ci_notebooks(output_dir, notebooks_dir) + prepare_ci_notebooks(
        Path(output_dir) / "zh", chinese, only=CI_CHINESE_NOTEBOOKS
    )


def strip_outputs(nb) -> None:
    """Clear outputs and execution counts everywhere except in the checked cells.

    nbval treats a cell with outputs but no execution count as never run, so checked cells keep theirs.
    """
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for key in ("execution", "papermill"):
            cell.metadata.pop(key, None)
        if not is_checked(cell):
            cell.outputs = []
            cell.execution_count = None


def refresh_outputs(notebooks_dir: str | Path = "notebooks", only=None) -> list[Path]:
    """Execute notebooks at CI parameters and store only the checked cells' outputs back into them.

    Use after an intended change (say, to the model) so CI compares against the new truth.
    """
    import nbformat  # imported here: slow to import, and the command line starts without it
    import papermill

    notebooks = find_notebooks(notebooks_dir, only)
    with tempfile.TemporaryDirectory() as tmp:
        for notebook in notebooks:
            # A fresh artifacts folder: a notebook that needs 04's model trains it itself, as it says it will.
            values = {**ci_parameters(notebook), "artifacts_dir": str(Path(tmp) / "artifacts")}
            executed = Path(tmp) / notebook.name
            print(f"executing {notebook.name} ...", flush=True)
            papermill.execute_notebook(
                str(notebook),
                str(executed),
                parameters=declared_subset(notebook, values),
                cwd=str(notebook.parent),
                progress_bar=False,
                extra_arguments=KERNEL_QUIET,
            )
            ran = {c.get("id"): c for c in nbformat.read(executed, as_version=4).cells}
            source = nbformat.read(notebook, as_version=4)
            for cell in source.cells:
                if cell.cell_type == "code" and is_checked(cell) and cell.get("id") in ran:
                    cell.outputs = ran[cell.get("id")].get("outputs", [])
                    cell.execution_count = ran[cell.get("id")].get("execution_count")
            strip_outputs(source)
            nbformat.write(source, notebook)
    return notebooks


def notebook_problems(path: str | Path) -> list[str]:
    """What is wrong with a committed notebook against the course's conventions (empty when clean)."""
    import nbformat  # imported here: slow to import, and the command line starts without it

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises several types for bad JSON and bad schema
        return [f"{path.name}: not valid nbformat ({exc})"]
    problems = []
    cells = nb.cells
    if len(cells) < 2 or "parameters" not in cells[1].get("metadata", {}).get("tags", []):
        problems.append(f"{path.name}: the second cell is not tagged 'parameters'")
    else:
        problems += parameter_problems(path.name, cells)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name} cell {index} ({cell.source.splitlines()[0] if cell.source else 'empty'!r})"
        if cell.outputs and not is_checked(cell):
            problems.append(f"{where}: carries outputs but is not tagged {CHECK_TAG!r}")
        if is_checked(cell) and not cell.outputs:
            problems.append(f"{where}: tagged {CHECK_TAG!r} but has no committed output to compare")
        if cell.execution_count is not None and not is_checked(cell):
            problems.append(f"{where}: has an execution count (run `python -m course_tools refresh-outputs`)")
        if index == 0 or cells[index - 1].cell_type != "markdown":
            problems.append(f"{where}: no markdown cell before it explaining what it does")
    return problems


def _check_params_keywords(cells) -> list[str] | None:
    """The keyword names of the first ``check_params(...)`` call in the code cells (None: no call)."""
    for cell in cells:
        if cell.cell_type != "code" or "check_params(" not in cell.source:
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: not the course's parameter check
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_params":
                return [keyword.arg for keyword in node.keywords if keyword.arg]
    return None


def parameter_problems(name: str, cells) -> list[str]:
    """What is wrong with a notebook's parameters against the contract (``cells[1]`` is its parameters cell).

    The cell declares a subset of the contract, each name once; ``check_params`` gets exactly those; and every
    ``params.<name>`` the code reads is declared (``artifacts_path`` is ``artifacts_dir``), so that papermill
    and the runner can set it.
    """
    problems = []
    declared = assigned_names(cells[1].source)
    outside = [n for n in declared if n not in PARAMETER_NAMES]
    if outside:
        problems.append(
            f"{name}: the parameters cell declares names outside the contract: "
            f"{unknown_parameter_message(outside)}"
        )
    if len(set(declared)) != len(declared):
        problems.append(f"{name}: the parameters cell declares a name twice: {declared}")
    checked = _check_params_keywords(cells)
    if checked is None:
        problems.append(f"{name}: no cell calls check_params(...) with the parameters")
    elif sorted(checked) != sorted(set(declared)):
        problems.append(
            f"{name}: check_params gets {sorted(checked)}, but the parameters cell declares "
            f"{sorted(set(declared))}"
        )
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    read = {"artifacts_dir" if n == "artifacts_path" else n for n in re.findall(r"\bparams\.(\w+)", code)}
    undeclared = sorted(n for n in read & set(PARAMETER_NAMES) if n not in declared)
    if undeclared:
        problems.append(
            f"{name}: the code reads params.{undeclared[0]}, but the parameters cell does not declare "
            f"{undeclared}"
        )
    return problems
