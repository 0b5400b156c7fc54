"""Learning floors: the table, the check, and the issue's own proof through the pytest plugin.

The last test is the proof: 04 with its learning rate multiplied by 100 (nothing else changed) still passes
nbval, and must fail the floors (as `make test` runs them) with a message naming the notebook and the floor.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_tools import floors
from course_tools.floors import check_headlines, read_floors, read_headlines
from course_tools.nbcheck import ci_parameters, prepare_ci_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CI = {"dataset": "mnist", "data_source": "sample", "epochs": 1, **floors.FIXED_PARAMETERS}


@pytest.mark.parametrize("row", read_floors(), ids=lambda row: f"{row.notebook}:{row.figure}")
def test_each_floor_is_set_below_its_measurements_at_cis_parameters(row):
    assert (NOTEBOOKS / f"{row.notebook}.ipynb").is_file()
    ci = ci_parameters(row.notebook)
    assert (row.epochs, row.data_source) == (ci["epochs"], ci["data_source"]), "table and prepare-ci disagree"
    assert len(row.measured) == 3 and row.margin >= 0
    assert row.floor == pytest.approx(min(row.measured) - row.margin, abs=1e-9), "floor = lowest - margin"


def test_a_figure_under_its_floor_or_missing_fails_naming_notebook_figure_and_floor():
    record = {"notebook": "04_compile_fit", "name": "test accuracy", **CI}
    assert check_headlines([{**record, "value": 0.99}], ["04_compile_fit"]) == []
    [under] = check_headlines([{**record, "value": 0.99}, {**record, "value": 0.1}], ["04_compile_fit"])
    assert under.startswith("04_compile_fit: test accuracy 10.00% is under its floor 86.00% at dataset=mnist")
    [missing] = check_headlines([{**record, "epochs": 3, "value": 0.99}], ["04_compile_fit"])
    assert "no figure recorded at" in missing and "recorded at other parameters" in missing
    assert check_headlines([], ["03_model_anatomy"]) == []  # a notebook without floors needs nothing


def _pytest_with_floors(folder: Path, headlines: Path) -> subprocess.CompletedProcess:
    """pytest as `make test` runs the prepared copies: nbval, the floors plugin, two xdist workers."""
    env = {**os.environ, floors.HEADLINES_FILE_VARIABLE: str(headlines)}
    command = [sys.executable, "-m", "pytest", str(folder), "--nbval-lax", "--nbval-current-env"]
    command += ["-p", "course_tools.floors_plugin", "-p", "no:cacheprovider", "-q", "-n", "2"]
    command += ["--dist", "loadscope"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.slow
def test_floors_catch_04_when_its_learning_rate_is_broken(tmp_path):
    """The issue's mutation: 04's compile cell with ``learning_rate * 100``, prepared and run as CI does."""
    source = tmp_path / "notebooks"
    source.mkdir()
    nb = nbformat.read(NOTEBOOKS / "04_compile_fit.ipynb", as_version=4)
    [compile_cell] = [c for c in nb.cells if "compile(" in c.source and "learning_rate=" in c.source]
    compile_cell.source = re.sub(r"learning_rate=([\w.]+)", r"learning_rate=\1 * 100", compile_cell.source)
    figure = re.compile(r"^[^#\n]*\btest_accuracy\b[^=\n]*=[^=]", re.MULTILINE)
    evaluate = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and figure.search(c.source))
    nb.cells = nb.cells[: evaluate + 1]  # what follows (saving, exercises) does not change the figure
    nbformat.write(nb, source / "04_compile_fit.ipynb")
    [prepared] = prepare_ci_notebooks(tmp_path / "ci", source)

    headlines = tmp_path / "headlines.jsonl"
    headlines.write_text('{"notebook": "04_compile_fit", "name": "stale"}\n')  # emptied at the start
    result = _pytest_with_floors(prepared.parent, headlines)
    assert result.returncode == 1, result.stdout[-3000:]
    [recorded] = read_headlines(headlines)
    assert recorded["value"] < 0.5  # chance is 10%
    assert f"04_compile_fit: test accuracy {floors.format_value(recorded['value'])}" in result.stdout
    assert "is under its floor 86.00% at dataset=mnist" in result.stdout
    assert "1 failed" in result.stdout and "learning floors" in result.stdout
