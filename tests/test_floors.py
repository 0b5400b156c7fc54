"""Learning floors: the table, the check, the pytest plugin that runs it after nbval, and a real failure.

The last test is the issue's own proof: 04 with its learning rate multiplied by 100 (nothing else changed)
still passes nbval, and must fail the floors with a message naming the notebook, the figure and the floor.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import papermill
import pytest

from course_utils import floors
from course_utils.data import Dataset
from course_utils.floors import Floor, append_headline, check_headlines, read_floors, read_headlines
from course_utils.headline import record_headline
from course_utils.nbcheck import ci_parameters, prepare_ci_notebooks
from course_utils.params import DEFAULTS, check_params
from course_utils.runner import default_notebooks_dir

NOTEBOOKS = default_notebooks_dir()
CI_RECORD = {"dataset": "mnist", "data_source": "offline", "epochs": 1, "batch_size": 32, "seed": 42}
CI_RECORD["learning_rate"] = 0.001


def _floor(**changes) -> Floor:
    values = dict(
        notebook="04_compile_fit",
        figure="test accuracy",
        dataset="mnist",
        data_source="offline",
        epochs=1,
        measured=(0.91, 0.92, 0.915),
        margin=0.06,
        floor=0.85,
        note="",
    )
    return Floor(**{**values, **changes})


def _record(value, **changes) -> dict:
    return {"notebook": "04_compile_fit", "name": "test accuracy", "value": value, "on": "the test set"} | {
        **CI_RECORD,
        **changes,
    }


# --- the table -------------------------------------------------------------------------------------------


def test_every_training_notebook_has_floors():
    table = read_floors()
    covered = {(row.notebook, row.figure) for row in table}
    for required in [
        ("04_compile_fit", "test accuracy"),
        ("05_prediction", "test accuracy"),
        ("06_your_digit", "sample digits right"),
        ("07_better_model", "lesson's model val accuracy"),
        ("07_better_model", "improved model val accuracy"),
        ("07_better_model", "improved minus lesson's val accuracy"),
        ("08_fashion_mnist", "fashion test accuracy"),
        ("09_scaling_out", "test accuracy under strategy"),
    ]:
        assert required in covered, f"no floor for {required}"


@pytest.mark.parametrize("row", read_floors(), ids=lambda row: f"{row.notebook}:{row.figure}")
def test_floor_row_is_set_from_three_measurements_and_matches_ci(row):
    notebook = NOTEBOOKS / f"{row.notebook}.ipynb"
    assert notebook.is_file()
    code = "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code")
    assert f'"{row.figure}"' in code and "record_headline(" in code, "the notebook records no such figure"
    ci = ci_parameters(row.notebook)
    assert (row.epochs, row.data_source) == (ci["epochs"], ci["data_source"]), "table and prepare-ci disagree"
    if row.floor is None:  # still to be measured: the note must say on what
        assert not row.measured and "to be measured" in row.note.lower()
        return
    assert len(row.measured) == 3 and row.margin is not None and row.margin >= 0
    assert row.floor == pytest.approx(min(row.measured) - row.margin, abs=1e-9), "floor = lowest - margin"
    if row.figure == "improved minus lesson's val accuracy":
        assert row.floor >= 0, "the improved model must beat the lesson's model"


def test_prepare_ci_gives_each_notebook_its_own_ci_epochs(tmp_path):
    prepared = {path.stem: path for path in prepare_ci_notebooks(tmp_path, notebooks_dir=NOTEBOOKS)}
    for stem in ("04_compile_fit", "07_better_model"):
        nb = nbformat.read(prepared[stem], as_version=4)
        [injected] = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert f"epochs = {ci_parameters(stem)['epochs']}\n" in injected.source
        assert 'data_source = "offline"' in injected.source
    assert ci_parameters("07_better_model")["epochs"] == 3 and ci_parameters("04_compile_fit")["epochs"] == 1


def test_prepare_ci_gives_each_notebook_only_the_parameters_it_declares(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="papermill"):
        prepared = prepare_ci_notebooks(tmp_path, notebooks_dir=NOTEBOOKS)
    assert "unknown parameter" not in caplog.text
    for path in prepared:
        nb = nbformat.read(path, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        names = [line.split(" = ")[0] for c in injected for line in c.source.splitlines()[1:]]
        declared = list(papermill.inspect_notebook(str(NOTEBOOKS / path.name)))
        wanted = [n for n in (*ci_parameters(path.stem), "artifacts_dir") if n in declared]
        assert sorted(names) == sorted(wanted), path.stem
    assert not [
        c
        for c in nbformat.read(tmp_path / "00_environment.ipynb", as_version=4).cells
        if c.source.startswith("# Parameters\n")
    ]


def test_ci_epochs_above_one_are_said_in_the_table():
    for row in read_floors():
        if row.epochs != 1:
            assert "epochs" in row.note, f"{row.notebook}: say why CI trains it {row.epochs} epochs"


# --- the check --------------------------------------------------------------------------------------------


def test_figures_at_or_above_their_floor_pass(tmp_path):
    headlines = tmp_path / "headlines.jsonl"
    append_headline(_record(0.30), headlines)  # an earlier figure of the same name: the last one counts
    append_headline(_record(0.85), headlines)
    assert check_headlines(read_headlines(headlines), ["04_compile_fit"], [_floor()]) == []


def test_a_figure_under_its_floor_fails_naming_notebook_figure_floor_and_parameters(tmp_path):
    headlines = tmp_path / "headlines.jsonl"
    append_headline(_record(0.1), headlines)
    [message] = check_headlines(read_headlines(headlines), ["04_compile_fit"], [_floor()])
    assert "04_compile_fit: test accuracy 10.00% on the test set is under its floor 85.00%" in message
    assert "dataset=mnist, data_source=offline, epochs=1, batch_size=32, seed=42" in message
    assert "measured 91.00%, 92.00%, 91.50%" in message and "margin 6.00%" in message


def test_a_missing_figure_fails_and_says_where_it_was_recorded_instead(tmp_path):
    headlines = tmp_path / "headlines.jsonl"
    assert check_headlines(read_headlines(headlines), ["04_compile_fit"], [_floor()]) == [
        "04_compile_fit: no 'test accuracy' figure recorded at dataset=mnist, data_source=offline, epochs=1, "
        "batch_size=32, seed=42, learning_rate=0.001 (no record_headline call reached it). "
        "Its floor is in floors.csv."
    ]
    append_headline(_record(0.95, epochs=3), headlines)
    [message] = check_headlines(read_headlines(headlines), ["04_compile_fit"], [_floor()])
    assert "recorded at other parameters" in message and "epochs=3" in message
    # A notebook that did not run in this session needs no figure.
    assert check_headlines([], ["05_prediction"], [_floor()]) == []


def test_a_floor_still_to_be_measured_needs_only_the_figure():
    pending = _floor(measured=(), margin=None, floor=None, note="to be measured on the sample")
    assert check_headlines([_record(0.01)], ["04_compile_fit"], [pending]) == []
    assert len(check_headlines([], ["04_compile_fit"], [pending])) == 1


def test_record_headline_appends_figure_notebook_data_and_parameters(tmp_path, monkeypatch, capsys):
    headlines = tmp_path / "ci" / "headlines.jsonl"
    monkeypatch.setenv(floors.HEADLINES_FILE_VARIABLE, str(headlines))
    monkeypatch.setenv(floors.NOTEBOOK_VARIABLE, "08_fashion_mnist")
    images = np.zeros((3, 28, 28, 1), "float32")
    data = Dataset(
        images, np.zeros(3), images[:2], np.zeros(2), "test", ("a",) * 10, "fashion_mnist", "sample"
    )
    params = check_params(epochs=1, data_source="offline")  # dataset "mnist": 08 loads Fashion-MNIST anyway
    record_headline("fashion test accuracy", np.float32(0.75), data, params)
    record_headline("digits right", 0.5, "the 16 shipped digits", params)
    assert capsys.readouterr().out == (
        "fashion test accuracy: 75.00% on the 2-image Fashion-MNIST sample test set\n"
        "digits right: 50.00% on the 16 shipped digits\n"
    )
    first, second = read_headlines(headlines)
    assert first == {
        "notebook": "08_fashion_mnist",
        "name": "fashion test accuracy",
        "value": 0.75,
        "on": "the 2-image Fashion-MNIST sample test set",
        "dataset": "fashion_mnist",
        "data_source": "offline",
        "epochs": 1,
        "batch_size": DEFAULTS.batch_size,
        "seed": DEFAULTS.seed,
        "learning_rate": DEFAULTS.learning_rate,
    }
    assert second["dataset"] == "mnist" and second["on"] == "the 16 shipped digits"
    with pytest.raises(TypeError, match="Dataset or a string"):
        record_headline("x", 0.5, [1, 2], params)


# --- the plugin, on small notebooks and on 04 itself -------------------------------------------------------


def _pytest_with_floors(*paths: Path, headlines: Path, options=()) -> subprocess.CompletedProcess:
    """pytest with the floors plugin, run from ``headlines``' folder with the file named relative to it
    (as ``make test`` may): nbval starts each kernel in its notebook's folder, elsewhere."""
    env = {**os.environ, floors.HEADLINES_FILE_VARIABLE: headlines.name}
    env.pop(floors.NOTEBOOK_VARIABLE, None)
    command = [sys.executable, "-m", "pytest", *map(str, paths), "--nbval-lax", "--nbval-current-env"]
    command += ["-p", "course_utils.floors_plugin", "-p", "no:cacheprovider", "-q", *options]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=headlines.parent, timeout=600)


def _tiny_notebook(path: Path, value: float) -> Path:
    """A notebook that records 04's figure at CI's parameters, without TensorFlow's training."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from course_utils.params import check_params\n"
            "from course_utils.headline import record_headline\n"
            "params = check_params(epochs=1, data_source='offline')\n"
            f"record_headline('test accuracy', {value}, 'the test set', params)"
        )
    ]
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("-n", "2", "--dist", "loadscope")], ids=["serial", "xdist"])
def test_plugin_checks_after_the_notebooks_and_names_each_kernels_notebook(tmp_path, options):
    """One session, two notebooks: 04's figure is above its floor, 05's under; the floors test runs last
    (under xdist, on the controller once both workers have run their notebook)."""
    folder = tmp_path / "ci"
    folder.mkdir()
    good = _tiny_notebook(folder / "04_compile_fit.ipynb", 0.99)
    bad = _tiny_notebook(folder / "05_prediction.ipynb", 0.5)
    headlines = tmp_path / "headlines.jsonl"
    headlines.write_text('{"notebook": "05_prediction", "name": "stale"}\n')  # emptied at session start
    result = _pytest_with_floors(good, bad, headlines=headlines, options=options)
    assert result.returncode == 1, result.stdout + result.stderr
    assert sorted((r["notebook"], r["value"]) for r in read_headlines(headlines)) == [
        ("04_compile_fit", 0.99),
        ("05_prediction", 0.5),
    ]
    if not options:  # serial: the two notebooks' cells pass, then the floors fail (xdist prints by worker)
        assert "..F" in result.stdout
    assert "05_prediction: test accuracy 50.00% on the test set is under its floor" in result.stdout
    assert "04_compile_fit: test accuracy" not in result.stdout
    assert "1 failed, 2 passed" in result.stdout


@pytest.mark.slow
def test_floors_catch_04_when_its_learning_rate_is_broken(tmp_path):
    """The issue's mutation: 04's compile cell with ``learning_rate * 100``, run as CI runs it."""
    source = tmp_path / "notebooks"
    source.mkdir()
    nb = nbformat.read(NOTEBOOKS / "04_compile_fit.ipynb", as_version=4)
    [compile_cell] = [c for c in nb.cells if "learning_rate=params.learning_rate" in c.source]
    compile_cell.source = compile_cell.source.replace("params.learning_rate", "params.learning_rate * 100")
    [headline_cell] = [i for i, c in enumerate(nb.cells) if "record_headline(" in c.source]
    nb.cells = nb.cells[: headline_cell + 1]  # what follows (saving, exercises) does not change the figure
    nbformat.write(nb, source / "04_compile_fit.ipynb")
    [prepared] = prepare_ci_notebooks(tmp_path / "ci", notebooks_dir=source)

    result = _pytest_with_floors(prepared, headlines=tmp_path / "headlines.jsonl")
    assert result.returncode == 1, result.stdout[-3000:]
    [floor] = [f for f in read_floors() if (f.notebook, f.figure) == ("04_compile_fit", "test accuracy")]
    recorded = read_headlines(tmp_path / "headlines.jsonl")[-1]
    assert recorded["value"] < 0.5  # chance is 10%
    assert f"04_compile_fit: test accuracy {floors.format_value(recorded['value'])}" in result.stdout
    assert f"is under its floor {floors.format_value(floor.floor)} at dataset=mnist" in result.stdout
    assert "1 failed" in result.stdout and "learning floors" in result.stdout
