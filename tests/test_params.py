"""The parameter contract: defaults, and a clear ValueError for every bad value."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

from course_utils.params import DEFAULTS, PARAMETER_NAMES, CourseParams, check_params

NOTEBOOK_04 = next((Path(__file__).resolve().parents[1] / "notebooks").glob("04_*.ipynb"))


def test_defaults_are_the_lessons():
    params = check_params()
    assert params == DEFAULTS
    assert (params.epochs, params.batch_size, params.dataset, params.data_source) == (10, 32, "mnist", "auto")
    assert {"epochs", "batch_size", "seed", "dataset", "data_source", "artifacts_dir"} <= set(PARAMETER_NAMES)


def test_good_values_pass_through(tmp_path):
    params = check_params(
        epochs=1,
        batch_size=64,
        seed=0,
        dataset="fashion_mnist",
        data_source="offline",
        artifacts_dir=str(tmp_path / "a"),
        learning_rate=1,
    )
    assert isinstance(params, CourseParams) and params.learning_rate == 1.0
    assert params.artifacts_path.is_dir()


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("epochs", 0, "positive integer"),
        ("epochs", -3, "positive integer"),
        ("epochs", 2.5, "positive integer"),
        ("epochs", "10", "positive integer"),
        ("epochs", True, "positive integer"),
        ("epochs", 10_000, "positive integer"),
        ("batch_size", 0, "positive integer"),
        ("batch_size", None, "positive integer"),
        ("seed", -1, "integer from 0"),
        ("seed", 2**32, "integer from 0"),
        ("seed", 1.0, "integer from 0"),
        ("dataset", "cifar10", "one of"),
        ("dataset", "MNIST", "one of"),
        ("data_source", "internet", "one of"),
        ("data_source", None, "one of"),
        ("artifacts_dir", "", "non-empty folder"),
        ("artifacts_dir", 3, "non-empty folder"),
        ("learning_rate", 0, "number in"),
        ("learning_rate", 5, "number in"),
        ("learning_rate", "fast", "number in"),
        ("strategy", "tpu", "one of"),
        ("mixed_precision", "yes", "True or False"),
        ("mixed_precision", 1, "True or False"),
        ("image_path", "/no/such/digit.png", "image file"),
        ("image_path", None, "image file"),
    ],
)
def test_bad_values_name_the_parameter_value_and_what_is_allowed(name, value, allowed):
    with pytest.raises(ValueError) as info:
        check_params(**{name: value})
    message = str(info.value)
    assert message.startswith(f"{name} must be") and allowed in message and repr(value) in message


def test_sample_exists_for_every_dataset():
    for dataset in ("mnist", "fashion_mnist"):
        assert check_params(dataset=dataset, data_source="sample").data_source == "sample"


def test_artifacts_dir_that_is_a_file_is_refused(tmp_path):
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="artifacts_dir must be a folder"):
        check_params(artifacts_dir=str(afile))


def test_unknown_names_are_refused_with_the_closest_known_one():
    with pytest.raises(ValueError, match=r"^unknown parameter 'epoch'; did you mean 'epochs'\?$"):
        check_params(epoch=3)
    with pytest.raises(ValueError, match=r"unknown parameter 'zzz'; the contract's names are \['epochs'"):
        check_params(zzz=3)


def _papermill_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    papermill_exe = Path(sys.executable).with_name("papermill")
    return subprocess.run(
        [str(papermill_exe), *args, "--no-progress-bar", "-k", "python3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )


def test_a_misspelt_parameter_through_plain_papermill_stops_04_in_its_first_cells(tmp_path):
    done = _papermill_cli(
        str(NOTEBOOK_04),
        str(tmp_path / "out.ipynb"),
        "-p",
        "epoch",
        "3",
        "-p",
        "artifacts_dir",
        "a",
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "ValueError: unknown parameter 'epoch'; did you mean 'epochs'?" in done.stderr
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    ran = [c for c in executed.cells if c.cell_type == "code" and c.execution_count]
    assert "check_params(" in ran[-1].source  # stopped at the check, before any data or training
    assert not (tmp_path / "a").exists()


def _tiny_notebook(folder: Path) -> Path:
    """A notebook shaped like the course's: the parameters cell, then the check_params cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("epochs = 10\nbatch_size = 32", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from course_utils.params import check_params\n"
            "params = check_params(epochs=epochs, batch_size=batch_size)\nprint(params.epochs, params.seed)"
        ),
    ]
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_papermill_names_outside_the_contract_are_refused_and_contract_names_accepted(tmp_path):
    notebook = _tiny_notebook(tmp_path)
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(notebook), str(tmp_path / "bad.ipynb"), parameters={"batchsize": 8}, progress_bar=False
        )
    assert info.value.evalue == "unknown parameter 'batchsize'; did you mean 'batch_size'?"
    # seed is in the contract but not declared by this notebook: accepted (papermill only warns)
    papermill.execute_notebook(
        str(notebook), str(tmp_path / "good.ipynb"), parameters={"epochs": 2, "seed": 7}, progress_bar=False
    )
    out = nbformat.read(tmp_path / "good.ipynb", as_version=4).cells[-1].outputs[0]["text"]
    assert out == "2 42\n"


@pytest.mark.parametrize("path", ["/proc/x", "/proc/1", "/proc/x/y/z", "/sys/x"])
def test_artifacts_dir_that_cannot_be_created_or_written_is_refused(path):
    with pytest.raises(ValueError) as info:
        check_params(artifacts_dir=path)
    message = str(info.value)
    assert message.startswith(f"artifacts_dir must be a folder that can be created and written, got {path!r}")


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes into a read-only folder; the /proc cases cover root"
)
def test_artifacts_dir_in_a_read_only_folder_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ValueError, match="artifacts_dir must be a folder that can be created and written"):
        check_params(artifacts_dir=str(locked / "artifacts"))


def test_names_not_given_keep_their_defaults_and_an_unused_artifacts_dir_is_not_checked(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULTS.artifacts_dir).write_text("a file where the default folder would be")
    params = check_params(seed=7)  # what 00 passes: the only parameter it declares
    assert params == CourseParams(seed=7)
    with pytest.raises(ValueError, match="artifacts_dir must be a folder, got 'artifacts', which is a file"):
        check_params(seed=7, artifacts_dir=DEFAULTS.artifacts_dir)


def test_checking_artifacts_dir_leaves_no_trace(tmp_path):
    check_params(artifacts_dir=str(tmp_path / "new" / "deeper"))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_params(artifacts_dir=str(tmp_path / "kept"))
    assert list((tmp_path / "kept").iterdir()) == []


# ["mnist"] is what papermill's -y "dataset: [mnist]" passes
WRONG_TYPES = [["mnist"], {"epochs": 1}, None, object(), 1j, b"mnist"]


@pytest.mark.parametrize("name", PARAMETER_NAMES)
@pytest.mark.parametrize("value", WRONG_TYPES, ids=lambda v: type(v).__name__)
def test_every_parameter_of_a_wrong_type_gets_a_value_error_naming_it(name, value):
    with pytest.raises(ValueError) as info:
        check_params(**{name: value})
    assert str(info.value).startswith(f"{name} must be"), info.value
