"""The committed notebooks: clean nbformat, the parameter contract, and fast failure on a bad parameter.

Executing them (papermill-prepared copies under ``pytest --nbval-lax``) is the second half of ``make test``.
"""

import time
from pathlib import Path

import nbformat
import papermill
import pytest

from course_utils.nbcheck import CHECK_TAG, is_checked, notebook_problems
from course_utils.params import PARAMETER_NAMES

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CORE = [f"{n:02d}" for n in range(6)]


def test_the_six_core_notebooks_are_there():
    stems = [path.name[:2] for path in NOTEBOOKS]
    assert all(number in stems for number in CORE), stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_follows_the_conventions(path):
    assert notebook_problems(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_has_the_contract_and_checked_cells_exist(path):
    nb = nbformat.read(path, as_version=4)
    assert "parameters" in nb.cells[1].metadata.tags
    for name in PARAMETER_NAMES:
        assert f"\n{name} = " in "\n" + nb.cells[1].source
    # every notebook validates its parameters through course_utils before anything else
    assert "check_params(" in nb.cells[3].source


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


def test_a_bad_parameter_fails_within_seconds_before_any_data_is_loaded(tmp_path):
    start = time.monotonic()
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(next(p for p in NOTEBOOKS if p.name.startswith("04"))),
            str(tmp_path / "out.ipynb"),
            parameters={"epochs": 0, "artifacts_dir": str(tmp_path / "artifacts")},
            progress_bar=False,
            kernel_name="python3",
        )
    assert time.monotonic() - start < 30
    assert info.value.ename == "ValueError" and "epochs must be a positive integer" in info.value.evalue
    assert "got 0" in info.value.evalue
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.execution_count]
    assert "check_params(" in ran[-1].source  # it stopped there: nothing was loaded
    assert not (tmp_path / "artifacts").exists()
