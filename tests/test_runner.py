"""The instructors' runner on tiny real notebooks: papermill runs, index and summary, failures, the CLI.

Every kernel start costs seconds, so the one successful run is shared (module fixture) and only the
notebook that needs the contract imports ``course_utils`` (and so TensorFlow).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils import floors
from course_utils.data import Dataset, describe_test_data
from course_utils.params import DEFAULTS, PARAMETER_NAMES
from course_utils.runner import (
    HEADLINE_MIME,
    _headline_row,
    find_notebooks,
    format_headline,
    main,
    record_headline,
    render_index,
    run_course,
)

PARAMETERS_CELL = "\n".join(f"{name} = {getattr(DEFAULTS, name)!r}" for name in PARAMETER_NAMES)
CHECK_CELL = (
    "from course_utils.params import check_params\n"
    f"params = check_params({', '.join(f'{name}={name}' for name in PARAMETER_NAMES)})"
)


def _write_notebook(folder: Path, name: str, *sources: str) -> Path:
    """A notebook whose first code cell is the tagged parameters cell, followed by ``sources``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        nbformat.v4.new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(source) for source in sources),
    ]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Two notebooks that succeed: 01 uses the whole contract and records a headline; 02 is plain."""
    folder = tmp_path_factory.mktemp("notebooks")
    _write_notebook(
        folder,
        "01_first",
        CHECK_CELL,
        '(params.artifacts_path / "first.txt").write_text(f"epochs={params.epochs}")',
        "from course_utils.runner import record_headline\n"
        'record_headline("train accuracy", 0.25, "the <tiny> set", params)\n'
        'record_headline("test accuracy", 0.5, "the <tiny> set", params)',
    )
    _write_notebook(folder, "02_second", 'print("second", epochs)')
    return folder


@pytest.fixture(scope="module")
def failing_course(tmp_path_factory) -> Path:
    """01 raises in its second code cell, so 02 must not run; neither imports TensorFlow."""
    folder = tmp_path_factory.mktemp("failing")
    _write_notebook(folder, "01_boom", "x = 1", 'raise RuntimeError("boom at epoch %d" % epochs)')
    _write_notebook(folder, "02_after", 'print("never")')
    return folder


@pytest.fixture(scope="module")
def course_run(course, tmp_path_factory):
    """One run of ``course`` with epochs=2, shared by the tests that inspect its output."""
    output = tmp_path_factory.mktemp("run") / "out"
    return output, run_course(output, params={"epochs": 2}, notebooks_dir=course)


def test_run_course_executes_notebooks_with_injected_parameters(course_run):
    output, results = course_run
    assert [(r.name, r.status) for r in results] == [("01_first.ipynb", "ok"), ("02_second.ipynb", "ok")]
    assert all(r.seconds > 0 and r.error is None for r in results)
    headline = results[0].headline  # the last one recorded, with its data and parameters
    assert (headline["name"], headline["value"], headline["on"]) == ("test accuracy", 0.5, "the <tiny> set")
    assert (headline["dataset"], headline["epochs"], headline["data_source"]) == ("mnist", 2, "auto")
    assert results[1].headline is None
    for result in results:
        nb = nbformat.read(output / result.name, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and "epochs = 2" in injected[0].source
        assert f'artifacts_dir = "{output / "artifacts"}"' in injected[0].source
    assert (output / "artifacts" / "first.txt").read_text() == "epochs=2"


def test_index_and_summary(course_run):
    output, _ = course_run
    index = (output / "index.html").read_text()
    for stem in ("01_first", "02_second"):
        assert (output / f"{stem}.html").is_file()
        assert f'href="{stem}.html"' in index
    assert index.count('class="ok">ok<') == 2
    assert "train accuracy: 25.00%<br>test accuracy: 50.00%" in index
    assert "the &lt;tiny&gt; set" in index  # the data beside each figure, escaped
    assert "course_utils 0.1.0" in index and "<code>2</code>" in index  # version and epochs=2
    assert "trained for 2 epochs, fewer than the lesson's\n10: its figures are not comparable" in index
    assert "none at these parameters" in index  # no learning floor: not CI's parameters

    summary = json.loads((output / "summary.json").read_text())
    assert summary["parameters"]["epochs"] == 2
    assert summary["parameters"]["batch_size"] == DEFAULTS.batch_size
    assert summary["parameters"]["artifacts_dir"] == str(output / "artifacts")
    first, second = summary["notebooks"]
    assert first["status"] == "ok" and first["html"] == "01_first.html"
    assert [h["name"] for h in first["headlines"]] == ["train accuracy", "test accuracy"]
    assert first["headline"]["text"] == "50.00%" and first["headline"]["on"] == "the <tiny> set"
    assert first["data"] == "the <tiny> set" and first["headline"]["floor"] is None
    assert summary["lesson_epochs"] == 10
    assert second["headline"] is None and second["headlines"] == [] and second["error"] is None


def test_failure_stops_the_run_and_names_notebook_cell_and_error(failing_course, tmp_path, capsys):
    results = run_course(tmp_path, params={"epochs": 3}, notebooks_dir=failing_course)
    assert [r.status for r in results] == ["failed", "not run"]
    error = results[0].error
    assert "01_boom.ipynb" in error and "cell index" in error
    assert 'raise RuntimeError("boom at epoch %d" % epochs)' in error
    assert "RuntimeError: boom at epoch 3" in error
    assert results[1].seconds is None and not (tmp_path / "02_after.ipynb").exists()

    out, err = capsys.readouterr()
    assert "[1/2] 01_boom.ipynb ...\n[1/2] 01_boom.ipynb FAILED" in out
    assert "[2/2] 02_after.ipynb not run" in out
    assert "RuntimeError: boom at epoch 3" in err and "01_boom.ipynb" in err
    executed = nbformat.read(tmp_path / "01_boom.ipynb", as_version=4)  # written, with the error
    assert any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [row["status"] for row in summary["notebooks"]] == ["failed", "not run"]
    assert summary["notebooks"][1]["html"] is None
    index = (tmp_path / "index.html").read_text()
    assert 'class="not-run">not run<' in index and "&#34;boom at epoch %d&#34;" in index


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": {"epochs": 0}}, "epochs must be a positive integer"),
        ({"params": {"dataset": "cifar"}}, "dataset must be one of"),
        ({"params": {"epoch": 1}}, "unknown parameter"),
        ({"params": {}, "only": ["07"]}, "'07' matches no notebook"),
        ({"params": {}, "timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(course, tmp_path, kwargs, message):
    output = tmp_path / "out"
    with pytest.raises(ValueError, match=message):
        run_course(output, notebooks_dir=course, **kwargs)
    assert not output.exists()


def test_output_that_is_a_file_is_refused(course, tmp_path):
    output = tmp_path / "out"
    output.write_text("not a folder")
    with pytest.raises(ValueError, match="is a file"):
        run_course(output, params={}, notebooks_dir=course)


def test_only_matches_numbers_and_stems(course):
    def names(only):
        return [path.name for path in find_notebooks(course, only)]

    assert names(None) == ["01_first.ipynb", "02_second.ipynb"]
    assert names(["02"]) == names(["2"]) == names(["02_second"]) == ["02_second.ipynb"]
    assert names(["02,01"]) == names(["2", "1"]) == ["01_first.ipynb", "02_second.ipynb"]  # in course order
    with pytest.raises(ValueError, match="'9', '02_seconds' matches no notebook"):
        find_notebooks(course, ["01,9", "02_seconds"])


def test_record_headline_outside_ipython_prints_the_figure_with_its_data(capsys, monkeypatch):
    monkeypatch.delenv(floors.HEADLINES_FILE_VARIABLE, raising=False)
    record_headline("test accuracy", 0.9712, _dataset(origin="sample", test_size=1000))
    record_headline("sample digits right", 0.9375, "the 16 digit images shipped with the course")
    record_headline("steps", 3)
    assert capsys.readouterr() == (
        "test accuracy: 97.12% on the 1,000-image MNIST sample test set\n"
        "sample digits right: 93.75% on the 16 digit images shipped with the course\n"
        "steps: 3\n",
        "",
    )
    with pytest.raises(TypeError):
        record_headline("test accuracy", [0.9])


def _dataset(name="mnist", origin="local", test_size=10) -> Dataset:
    images = np.zeros((test_size, 28, 28, 1), "float32")
    labels = np.zeros(test_size, "int64")
    return Dataset(images, labels, images, labels, "test", ("x",) * 10, name, origin)


def test_describe_test_data_names_the_data_its_size_and_whether_it_is_a_sample():
    assert describe_test_data(_dataset(origin="sample", test_size=1000)) == (
        "the 1,000-image MNIST sample test set"
    )
    assert describe_test_data(_dataset(test_size=10_000)) == "the 10,000 MNIST test images"
    assert describe_test_data(_dataset(origin="download", test_size=10_000)) == "the 10,000 MNIST test images"
    assert describe_test_data(_dataset("fashion_mnist", "sample", 1000)) == (
        "the 1,000-image Fashion-MNIST sample test set"
    )
    assert describe_test_data(_dataset("fashion_mnist", test_size=10_000)) == (
        "the 10,000 Fashion-MNIST test images"
    )


def _ci_headline(value, **changes) -> dict:
    headline = {"name": "test accuracy", "value": value, "on": "the 1,000-image MNIST sample test set"}
    headline |= {"dataset": "mnist", "data_source": "offline", "epochs": 1, "batch_size": 32, "seed": 42}
    return headline | {"learning_rate": 0.001} | changes


def test_index_shows_learning_floors_only_at_cis_parameters():
    table = [f for f in floors.read_floors() if (f.notebook, f.figure) == ("04_compile_fit", "test accuracy")]
    [floor] = table
    above = _headline_row(_ci_headline(floor.floor + 0.01), "04_compile_fit", table)
    below = _headline_row(_ci_headline(0.1), "04_compile_fit", table)
    assert above["floor"]["passed"] is True and below["floor"]["passed"] is False
    assert below["floor"]["text"] == floors.format_value(floor.floor)
    assert _headline_row(_ci_headline(0.1, epochs=10), "04_compile_fit", table)["floor"] is None
    assert _headline_row(_ci_headline(0.1, batch_size=64), "04_compile_fit", table)["floor"] is None
    assert _headline_row(_ci_headline(0.1), "05_prediction", table)["floor"] is None

    row = {"name": "04_compile_fit.ipynb", "status": "ok", "seconds": 9.0, "html": "04 compile fit.html"}
    row |= {"error": None, "headlines": [above, below], "headline": below, "data": below["on"]}
    failed = {"name": "05_prediction.ipynb", "status": "failed", "seconds": 1.0, "html": None, "data": None}
    failed |= {"error": "ValueError: " + "x" * 300 + " <b>", "headlines": [], "headline": None}
    summary = {"date": "2026-11-28T10:00:00+00:00", "course_utils_version": "0.1.0", "lesson_epochs": 10}
    parameters = {"epochs": 1, "dataset": "mnist", "data_source": "offline"}
    summary |= {"parameters": parameters, "notebooks_dir": "/nb"}
    index = render_index(summary | {"notebooks": [row, failed]})
    assert f'<span class="above">floor {above["floor"]["text"]}: above</span>' in index
    assert f'<span class="below">floor {below["floor"]["text"]}: BELOW THE FLOOR</span>' in index
    assert "Data asked for: <code>mnist</code> from\n<code>offline</code>" in index
    assert "the 1,000-image MNIST sample test set<br>the 1,000-image MNIST sample test set" in index
    assert 'href="04%20compile%20fit.html"' in index
    assert "trained for 1 epoch, fewer than the lesson's" in index
    assert "pre { white-space: pre-wrap;" in index  # long failure text wraps
    assert "x" * 300 + " &lt;b&gt;</pre>" in index
    ten = render_index(summary | {"parameters": {"epochs": 10}, "notebooks": [row]})
    assert "not comparable" not in ten


def test_format_headline():
    assert format_headline(0.9712) == "97.12%"
    assert format_headline(1.0) == "100.00%"
    assert format_headline(0.5) == "50.00%"
    assert format_headline(2.345678) == "2.346"
    assert format_headline(3) == "3"
    assert HEADLINE_MIME.startswith("application/") and HEADLINE_MIME.endswith("+json")


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--seed", "--dataset", "--data-source", "--only", "--output"):
        assert option in text
    assert "--notebooks-dir" in text and "--timeout" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "run" in capsys.readouterr().out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "course_utils", "run", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_exit_codes(course, failing_course, tmp_path):
    bad = _cli("--epochs", "0", "--notebooks-dir", str(course), "--output", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "epochs must be a positive integer" in bad.stderr
    assert not (tmp_path / "bad").exists()

    good = _cli("--only", "02", "--notebooks-dir", str(course), "--output", str(tmp_path / "good"))
    assert good.returncode == 0, good.stderr
    assert "[1/1] 02_second.ipynb ok in" in good.stdout
    assert sorted(p.name for p in (tmp_path / "good").glob("*.ipynb")) == ["02_second.ipynb"]

    failed = _cli("--notebooks-dir", str(failing_course), "--output", str(tmp_path / "failed"))
    assert failed.returncode == 1
    assert "01_boom.ipynb" in failed.stderr and "RuntimeError: boom at epoch 10" in failed.stderr


def test_results_are_dataclasses(course_run):
    _, results = course_run
    fields = [field.name for field in dataclasses.fields(results[0])]
    assert fields == ["name", "status", "seconds", "headline", "error"]
