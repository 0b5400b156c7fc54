"""The committed notebooks: clean nbformat, the parameter contract, and fast failure on a bad parameter.

Executing them (papermill-prepared copies under ``pytest --nbval-lax``) is the second half of ``make test``.
"""

import ast
import re
from pathlib import Path

import nbformat
import papermill
import pytest

from course_tools.nbcheck import CHECK_TAG, is_checked, notebook_problems
from course_utils.params import PARAMETER_NAMES

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CORE = [f"{n:02d}" for n in range(6)]


def test_the_six_core_notebooks_are_there():
    stems = [path.name[:2] for path in NOTEBOOKS]
    assert all(number in stems for number in CORE), stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_conventions(path):
    assert notebook_problems(path) == []


def declared(path: Path) -> list[str]:
    """The names a notebook's parameters cell declares, as papermill (and so the runner) reads them."""
    return list(papermill.inspect_notebook(str(path)))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_declares_part_of_the_contract_and_checked_cells_exist(path):
    nb = nbformat.read(path, as_version=4)
    assert "parameters" in nb.cells[1].metadata.tags
    names = declared(path)
    assert names and set(names) <= set(PARAMETER_NAMES), names
    # every notebook validates its parameters through course_utils before anything else
    assert "check_params(" in nb.cells[3].source


def test_each_name_is_declared_the_same_way_in_every_notebook_and_00_declares_only_seed():
    lines: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for line in nbformat.read(path, as_version=4).cells[1].source.splitlines()[1:]:
            lines.setdefault(line.split("=")[0].strip(), set()).add(line)
    assert sorted(lines) == sorted(PARAMETER_NAMES)  # each contract name is used somewhere
    assert {name: len(found) for name, found in lines.items()} == dict.fromkeys(lines, 1), lines
    assert declared(NOTEBOOKS[0]) == ["seed"]


# What the helpers that take the whole ``params`` read: a notebook calling one must declare these, or the
# runner's and CI's values (epochs=1) would not reach it.
TRAINING = {"epochs", "batch_size", "seed", "dataset", "data_source", "artifacts_dir", "learning_rate"}
HELPERS_READ = {
    "load_or_train(": TRAINING,  # trains like 04 (no strategy, float32) when 04 has not run
    "save_trained_model(": TRAINING,
    "load_trained_model(": {"dataset", "artifacts_dir"},
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_declares_what_the_helpers_it_calls_read(path):
    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    needed = set().union(*(names for call, names in HELPERS_READ.items() if call in code))
    assert needed <= set(declared(path)), sorted(needed - set(declared(path)))


def test_parameter_problems_are_found(tmp_path):
    source = nbformat.read(NOTEBOOKS[1], as_version=4)  # 01 declares dataset and data_source
    assert notebook_problems(NOTEBOOKS[1]) == []

    def problems_with(parameters=None, check=None, extra=""):
        nb = nbformat.read(NOTEBOOKS[1], as_version=4)
        if parameters is not None:
            nb.cells[1].source = parameters
        if check is not None:
            nb.cells[3].source = check
        nb.cells[5].source += extra
        path = tmp_path / "01_data.ipynb"
        nbformat.write(nb, path)
        return notebook_problems(path)

    assert any(
        "outside the contract: unknown parameter 'dataset_name'; did you mean 'dataset'?" in problem
        for problem in problems_with(parameters=source.cells[1].source + '\ndataset_name = "mnist"')
    )
    check = "from course_utils.params import check_params\nparams = check_params(dataset=dataset)"
    assert any(
        "check_params gets ['dataset'], but the parameters cell declares ['data_source', 'dataset']"
        in problem
        for problem in problems_with(check=check)
    )
    assert any("no cell calls check_params" in problem for problem in problems_with(check="params = None"))
    assert any(
        "reads params.epochs, but the parameters cell does not declare ['epochs']" in problem
        for problem in problems_with(extra="\nprint(params.epochs)")
    )


def test_checked_cells_compare_something_in_the_model_notebooks():
    checked = {
        path.name[:2]: [c for c in nbformat.read(path, as_version=4).cells if is_checked(c)]
        for path in NOTEBOOKS
    }
    assert all(checked[n] for n in ("01", "03", "04", "05")), {k: len(v) for k, v in checked.items()}
    summary = [c for c in checked["03"] if "model.summary()" in c.source]
    assert summary and "121,930" in str(summary[0].outputs)


def test_problems_are_found_in_a_dirty_notebook(tmp_path):
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="stray\n")]
    nb.cells[1].metadata.tags = []
    dirty = tmp_path / "dirty.ipynb"
    nbformat.write(nb, dirty)
    problems = notebook_problems(dirty)
    assert any("not tagged 'parameters'" in p for p in problems)
    assert any(f"not tagged {CHECK_TAG!r}" in p for p in problems)
    (tmp_path / "broken.ipynb").write_text("{not json")
    assert "not valid nbformat" in notebook_problems(tmp_path / "broken.ipynb")[0]


# --- the prose names what the code defines -----------------------------------------------------------------

FENCED = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
VARIABLE = re.compile(r"([A-Za-z_]\w*)(?:\[|\.|$)")
NOTEBOOK_NAME = re.compile(r"\b(\d\d_\w+)\.ipynb\b")


def _code(cell) -> str:
    """A code cell's Python, with IPython's magics and shell lines (``%...``, ``!...``) left out."""
    return "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))


def assigned_names(nb) -> set[str]:
    """The variables a notebook's code assigns (``x = ...``, ``for x in``, ``with ... as x``, tuples)."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(_code(cell))):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def defined_names(nb) -> set[str]:
    """Everything a notebook's code makes a name for: variables, imports, functions and classes."""
    names = assigned_names(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(_code(cell))):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
                elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                    names.add(node.name)
    return names


def undefined_variables_in_prose(notebooks: dict[str, nbformat.NotebookNode]) -> list[str]:
    """Variables of the course that a notebook's markdown names in ``code`` but its own code never defines.

    "The course's variables" are the names any notebook's code assigns (``test_images``, ``train_labels``,
    ``history``...). Naming one that lives in another notebook is fine when the same cell names that
    notebook (``01_data.ipynb``), as 05 does for the lesson's ``test_images[1]``.
    """
    assigned = {name: assigned_names(nb) for name, nb in notebooks.items()}
    course_variables = set().union(*assigned.values())
    problems = []
    for name, nb in notebooks.items():
        defined = defined_names(nb)
        code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
        # A span the code uses as a string (the metric `accuracy`, metrics=["accuracy"]) is not a variable.
        defined |= set(re.findall(r"[\"'](\w+)[\"']", code))
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "markdown":
                continue
            prose = FENCED.sub("", cell.source)
            named_notebooks = [stem for stem in NOTEBOOK_NAME.findall(prose) if stem in assigned]
            for span in CODE_SPAN.findall(prose):
                match = VARIABLE.match(span)
                variable = match and match.group(1)
                if not variable or variable not in course_variables or variable in defined:
                    continue
                if any(variable in assigned[stem] for stem in named_notebooks):
                    continue
                problems.append(
                    f"{name} cell {index}: `{span}` names {variable}, which its code never defines"
                )
    return problems


def test_no_notebook_prose_names_a_variable_its_code_does_not_define():
    notebooks = {path.stem: nbformat.read(path, as_version=4) for path in NOTEBOOKS}
    assert {"test_images", "train_images", "train_labels", "test_labels"} <= assigned_names(
        notebooks["01_data"]
    )
    assert undefined_variables_in_prose(notebooks) == []


def test_prose_naming_another_notebooks_variable_is_caught_unless_it_names_that_notebook():
    lesson = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("test_images, x = load(), 1")])
    text = "`test_images[1]`, the second test image."
    code = nbformat.v4.new_code_cell("from lib import data\nimage = data.x_test[1]")
    prediction = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text), code])
    problems = undefined_variables_in_prose({"01_data": lesson, "05_prediction": prediction})
    assert problems == [
        "05_prediction cell 0: `test_images[1]` names test_images, which its code never defines"
    ]
    prediction.cells[0].source = text + " It is what `01_data.ipynb` calls `test_images[1]`; `data.x_test`."
    assert undefined_variables_in_prose({"01_data": lesson, "05_prediction": prediction}) == []


def test_prepare_ci_writes_every_notebook_and_the_chinese_core_notebooks(tmp_path):
    """CI runs the Chinese core notebooks (00-05) under nbval beside the English ones, with own artifacts."""
    from course_tools.cli import main

    assert main(["prepare-ci", "--output", str(tmp_path)]) == 0
    english = [path.name for path in NOTEBOOKS]
    assert sorted(path.name for path in tmp_path.glob("*.ipynb")) == english
    chinese = sorted(path.name for path in (tmp_path / "zh").glob("*.ipynb"))
    assert chinese == [name for name in english if name[:2] in ("00", "01", "02", "03", "04", "05")]
    nb = nbformat.read(tmp_path / "zh" / "04_compile_fit.ipynb", as_version=4)
    assert 'set_language("zh_CN")' in "".join(cell.source for cell in nb.cells)
    [injected] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "epochs = 1\n" in injected.source and 'data_source = "sample"' in injected.source
    assert f'artifacts_dir = "{tmp_path / "zh" / "artifacts"}"' in injected.source
