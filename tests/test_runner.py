"""The instructors' runner on tiny real notebooks: papermill runs, index and summary, failures, the CLI.

Every kernel start costs seconds, so the one successful run is shared (module fixture) and only the
notebook that needs the contract imports ``course_utils`` (and so TensorFlow).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_utils import floors
from course_utils.cli import build_parser, main, run_params
from course_utils.data import Dataset, describe_test_data
from course_utils.headline import HEADLINE_MIME, format_headline, record_headline
from course_utils.params import DEFAULTS, PARAMETER_NAMES
from course_utils.runner import (
    MARKER,
    OK,
    RUN_PARAMETERS,
    EpochEcho,
    _headline_row,
    execute_plan,
    find_notebooks,
    plan_run,
    render_index,
    run_course,
)

REPO = Path(__file__).resolve().parents[1]

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
        "from course_utils.headline import record_headline\n"
        'record_headline("train accuracy", 0.25, "the <tiny> set", params)\n'
        'record_headline("test accuracy", 0.5, "the <tiny> set", params)',
    )
    _write_notebook(folder, "02_second", 'print("second", epochs)')
    return folder


@pytest.fixture(scope="module")
def failing_course(tmp_path_factory) -> Path:
    """01 raises in its second code cell, so 02 must not run; neither imports TensorFlow."""
    folder = tmp_path_factory.mktemp("failing")
    _write_notebook(
        folder,
        "01_boom",
        'import os\nos.write(2, b"kernel noise\\n")',  # what C code writes: must not reach the console
        'raise RuntimeError("boom at epoch %d" % epochs)',
    )
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


def test_each_notebook_is_given_only_the_parameters_it_declares(tmp_path, caplog):
    """papermill warns about a name a notebook does not declare; the runner passes each its own share."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# seed only"),
        nbformat.v4.new_code_cell("seed = 42", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from course_utils.params import check_params\n"
            "params = check_params(seed=seed)\nprint(params.seed, params.epochs)"
        ),
    ]
    notebook = folder / "00_seed_only.ipynb"
    nbformat.write(nb, notebook)
    plan = plan_run(tmp_path / "out", params={"epochs": 2, "seed": 7}, notebooks_dir=folder)
    assert plan.parameters["epochs"] == 2 and "artifacts_dir" in plan.parameters  # the run's, as reported
    assert plan.parameters_for(notebook) == {"seed": 7}
    with caplog.at_level("WARNING", logger="papermill"):
        [result] = execute_plan(plan)
    assert result.status == OK, result.error
    assert "unknown parameter" not in caplog.text
    executed = nbformat.read(tmp_path / "out" / notebook.name, as_version=4)
    [injected] = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected.source.splitlines()[1:] == ["seed = 7"]
    assert executed.cells[-1].outputs[0]["text"] == f"7 {DEFAULTS.epochs}\n"


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
    earlier = run_course(tmp_path, params={}, only=["02"], notebooks_dir=failing_course)
    assert earlier[0].status == "ok" and (tmp_path / "02_after.ipynb").is_file()
    (tmp_path / "notes.txt").write_text("mine")  # not the runner's: left alone
    capsys.readouterr()
    results = run_course(tmp_path, params={"epochs": 3}, notebooks_dir=failing_course)
    assert [r.status for r in results] == ["failed", "not run"]
    error = results[0].error
    assert "01_boom.ipynb" in error and "cell index" in error
    assert 'raise RuntimeError("boom at epoch %d" % epochs)' in error
    assert "RuntimeError: boom at epoch 3" in error
    # the earlier run's 02 is gone, so nothing stands beside this run's report that it did not run
    assert results[1].seconds is None and not (tmp_path / "02_after.ipynb").exists()
    assert not (tmp_path / "02_after.html").exists() and (tmp_path / "notes.txt").read_text() == "mine"

    out, err = capsys.readouterr()
    assert "[1/2] 01_boom.ipynb ...\n[1/2] 01_boom.ipynb FAILED" in out
    assert "[2/2] 02_after.ipynb not run" in out
    assert "RuntimeError: boom at epoch 3" in err and "01_boom.ipynb" in err
    executed = nbformat.read(tmp_path / "01_boom.ipynb", as_version=4)  # written, with the error
    assert any(o.get("output_type") == "error" for c in executed.cells for o in c.get("outputs", []))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["partial"] is False
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
        ({"params": {}, "timeout": 0}, "timeout must be a whole number of seconds, 1 or more, got 0"),
        ({"params": {}, "timeout": 2.5}, "timeout must be a whole number of seconds, 1 or more, got 2.5"),
        ({"params": {}, "timeout": float("inf")}, "timeout must be a whole number"),
        ({"params": {"dataset": ["mnist"]}}, "dataset must be one of"),
        ({"params": {"learning_rate": 2}}, "learning_rate must be"),
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
    # the notebook, the cell and the error, once; nothing from the kernel process itself
    assert failed.stderr.count("boom at epoch") == 2  # the cell's source line and the error
    assert "Traceback" not in failed.stderr and "kernel noise" not in failed.stderr + failed.stdout
    assert "kernel noise" in (tmp_path / "failed" / "01_boom.kernel.log").read_text()


def test_results_are_dataclasses(course_run):
    _, results = course_run
    fields = [field.name for field in dataclasses.fields(results[0])]
    assert fields == ["name", "status", "seconds", "headline", "error"]


def test_output_that_is_holds_or_is_inside_the_notebooks_folder_is_refused(course, tmp_path):
    before = {path.name: path.read_bytes() for path in course.iterdir()}
    for output in (course, course.parent, course / "out"):
        with pytest.raises(ValueError, match="notebooks folder") as info:
            run_course(output, params={}, only=["02"], notebooks_dir=course)
        assert str(output) in str(info.value)
    done = _cli("--output", str(course), "--only", "02", "--notebooks-dir", str(course))
    assert done.returncode == 2 and f"output {course} is (or holds) the notebooks folder" in done.stderr
    assert {path.name: path.read_bytes() for path in course.iterdir()} == before  # nothing replaced or added


def test_output_holding_files_the_runner_did_not_write_is_refused(course, course_run, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match=f"output {mine} already holds files that the runner did not write"):
        run_course(mine, params={}, only=["02"], notebooks_dir=course)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"] and (mine / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    assert plan_run(tmp_path / "empty", params={}, notebooks_dir=course).output == tmp_path / "empty"
    earlier, _ = course_run  # the runner's own earlier output is recognised by its marker
    assert json.loads((earlier / MARKER).read_text())["written_by"] == "python -m course_utils run"
    assert plan_run(earlier, params={}, notebooks_dir=course).output == earlier


def test_a_partial_run_gets_its_own_folder_and_never_replaces_a_full_report(
    course, course_run, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    full = plan_run(None, params={}, notebooks_dir=course)
    assert full.output == tmp_path / "build" / "course" and not full.partial
    partial = plan_run(None, params={}, only=["02"], notebooks_dir=course)
    assert partial.output == tmp_path / "build" / "course-only-02" and partial.partial
    assert plan_run(None, params={}, only=["2,1"], notebooks_dir=course).output == full.output  # all of them
    earlier, _ = course_run  # a full run's report
    assert json.loads((earlier / "summary.json").read_text())["partial"] is False
    with pytest.raises(ValueError, match="holds a full run's report, which a partial run"):
        plan_run(earlier, params={}, only=["02"], notebooks_dir=course)
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("value", ["2.5", "inf", "0", "-1", "nan", "ten"])
def test_timeout_is_checked_by_the_parser(value, capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--timeout", value, "--output", "/nonexistent/never"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --timeout: must be a whole number of seconds, 1 or more" in err and repr(value) in err
    assert build_parser().parse_args(["run", "--timeout", "5"]).timeout == 5


def test_every_contract_parameter_has_a_runner_option(course, tmp_path):
    argv = ["run", "--epochs", "2", "--batch-size", "64", "--seed", "7", "--dataset", "fashion_mnist"]
    argv += ["--data-source", "offline", "--learning-rate", "0.01", "--strategy", "default"]
    argv += ["--mixed-precision", "--image-path", str(REPO / "pyproject.toml")]
    params = run_params(build_parser().parse_args(argv))
    assert sorted(params) == sorted(RUN_PARAMETERS) == sorted(set(PARAMETER_NAMES) - {"artifacts_dir"})
    plan = plan_run(tmp_path / "out", params=params, notebooks_dir=course)
    assert plan.parameters["learning_rate"] == 0.01 and plan.parameters["mixed_precision"] is True
    assert plan.parameters["strategy"] == "default" and plan.parameters["batch_size"] == 64
    assert plan.parameters["image_path"] == str(REPO / "pyproject.toml")
    assert run_params(build_parser().parse_args(["run", "--no-mixed-precision"])) == {
        "mixed_precision": False
    }
    bad = _cli("--learning-rate", "5", "--notebooks-dir", str(course), "--output", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "learning_rate must be a number in (0, 1], got 5.0" in bad.stderr


MAKE_VARIABLES = ["EPOCHS", "BATCH_SIZE", "SEED", "DATASET", "DATA_SOURCE", "LEARNING_RATE", "STRATEGY"]
MAKE_VARIABLES += ["MIXED_PRECISION", "IMAGE_PATH", "ONLY", "OUTPUT", "TIMEOUT", "NOTEBOOKS_DIR"]


def _make_course_command(*assignments: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARIABLES and not k.startswith("MAKE")}
    done = subprocess.run(
        ["make", "-n", "course", *assignments], cwd=REPO, capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if "-m course_utils run" in line)
    return shlex.split(line)[3:]  # after "<python> -m course_utils"


def test_make_course_passes_every_option_only_when_set():
    assert _make_course_command() == ["run"]  # the runner's own defaults
    argv = _make_course_command(
        "EPOCHS=2", "BATCH_SIZE=64", "SEED=7", "DATASET=fashion_mnist", "DATA_SOURCE=offline",
        "LEARNING_RATE=0.01", "STRATEGY=default", "MIXED_PRECISION=1", "IMAGE_PATH=/tmp/my digit.png",
        "ONLY=03,04,05", "OUTPUT=/tmp/my out", "TIMEOUT=600", "NOTEBOOKS_DIR=/tmp/nbs",
    )  # fmt: skip
    args = build_parser().parse_args(argv)
    assert run_params(args) == {
        "epochs": 2, "batch_size": 64, "seed": 7, "dataset": "fashion_mnist", "data_source": "offline",
        "learning_rate": 0.01, "strategy": "default", "mixed_precision": True,
        "image_path": "/tmp/my digit.png",
    }  # fmt: skip
    assert (args.only, args.output, args.timeout, args.notebooks_dir) == (
        ["03,04,05"],
        "/tmp/my out",
        600,
        "/tmp/nbs",
    )
    assert build_parser().parse_args(_make_course_command("MIXED_PRECISION=0")).mixed_precision is False


EPOCH_LINES = 'print("Epoch 1/2")\nprint("3/3 - 1s - 9ms/step - accuracy: 0.5 - loss: 0.7")\nprint("noise")\n'
EPOCH_LINES += 'print("Epoch 2/2")\nprint("3/3 - 0s - 8ms/step - accuracy: 0.6 - loss: 0.6")'


def test_console_shows_progress_and_epoch_lines_and_nothing_from_the_kernel_process(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    spam = (  # a thread writing at the file-descriptor level, as TensorFlow's C++ code does
        "import os, threading, time\n"
        "def spam():\n    while True:\n        os.write(2, b'tick\\n')\n        time.sleep(0.005)\n"
        "threading.Thread(target=spam, daemon=True).start()"
    )
    _write_notebook(folder, "01_train", spam, EPOCH_LINES, "time.sleep(0.2)")
    done = _cli("--notebooks-dir", str(folder), "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "[1/1] 01_train.ipynb ...",
        "    epoch 1/2: 3/3 - 1s - 9ms/step - accuracy: 0.5 - loss: 0.7",
        "    epoch 2/2: 3/3 - 0s - 8ms/step - accuracy: 0.6 - loss: 0.6",
    ]
    assert re.fullmatch(r"\[1/1\] 01_train.ipynb ok in [0-9.]+ s", lines[3])
    assert lines[4] == f"Wrote {tmp_path / 'out' / 'index.html'} (run ok: 1 ok)" and len(lines) == 5


def test_epoch_echo_reads_keras_own_fit_output():
    import numpy as np
    from keras import Sequential, layers

    model = Sequential([layers.Input((4,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    printed, captured = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(captured):
        model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, batch_size=4, verbose=2)  # as the notebooks
    echo = EpochEcho(printed)
    for start in range(0, len(captured.getvalue()), 7):  # in pieces, as a kernel's stream messages arrive
        echo.write(captured.getvalue()[start : start + 7])
    echo.close()
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2, repr(captured.getvalue())
    assert lines[0].startswith("    epoch 1/2: 2/2 - ") and "loss: " in lines[0]
    assert lines[1].startswith("    epoch 2/2: 2/2 - ")


@pytest.fixture(scope="module")
def slow_course(tmp_path_factory) -> Path:
    """01 runs a cell for two minutes (so a signal arrives while it runs); 02 comes after."""
    folder = tmp_path_factory.mktemp("slow")
    _write_notebook(folder, "01_slow", 'print("started")', "import time\ntime.sleep(120)", 'print("after")')
    _write_notebook(folder, "02_later", 'print("later")')
    return folder


def _wait_for(condition, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError, IndexError):  # a file not written yet
            pass
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_says_so_in_its_report_and_notebook(slow_course, tmp_path, signum):
    output = tmp_path / "out"
    command = [sys.executable, "-m", "course_utils", "run", "--notebooks-dir", str(slow_course)]
    process = subprocess.Popen(
        [*command, "--output", str(output)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        summary = output / "summary.json"
        _wait_for(lambda: json.loads(summary.read_text())["notebooks"][0]["status"] == "running")
        assert json.loads(summary.read_text())["status"] == "running"  # written at the start
        executed = output / "01_slow.ipynb"
        _wait_for(lambda: nbformat.read(executed, as_version=4).cells[4].metadata.papermill["start_time"])
        time.sleep(0.5)
        process.send_signal(signum)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 128 + signum
    name = signal.Signals(signum).name
    summary = json.loads(summary.read_text())
    assert summary["status"] == "interrupted"
    assert [row["status"] for row in summary["notebooks"]] == ["interrupted", "not run"]
    assert (
        f"01_slow.ipynb interrupted ({name}) at cell index 4: import time" in summary["notebooks"][0]["error"]
    )
    assert 'class="run interrupted">interrupted<' in (output / "index.html").read_text()
    cells = nbformat.read(executed, as_version=4).cells
    states = [cell.metadata.papermill["status"] for cell in cells if cell.cell_type == "code"]
    # the parameters, papermill's injected parameters, print, sleep (interrupted), print (never ran)
    assert states == ["completed", "completed", "completed", "interrupted", "not run"]
    assert b"Traceback" not in err and f"interrupted ({name})".encode() in err
    assert not (output / "02_later.ipynb").exists()
