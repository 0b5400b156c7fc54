"""The parameter contract: defaults, and a clear ValueError naming the parameter for every bad value."""

import pytest

from course_utils.params import DEFAULTS, PARAMETER_NAMES, CourseParams, check_params


def test_defaults_are_the_lessons_and_good_values_pass_through(tmp_path):
    assert check_params() == DEFAULTS
    assert (DEFAULTS.epochs, DEFAULTS.batch_size, DEFAULTS.dataset, DEFAULTS.data_source) == (
        10,
        32,
        "mnist",
        "auto",
    )
    params = check_params(
        epochs=1, batch_size=64, seed=0, dataset="fashion_mnist", data_source="offline",
        artifacts_dir=str(tmp_path / "a"), learning_rate=1, strategy="default", mixed_precision=True,
    )  # fmt: skip
    assert isinstance(params, CourseParams) and params.learning_rate == 1.0 and params.seed == 0
    assert params.artifacts_path.is_dir()


# Bad values of every parameter: out of range, misspelt, and of the wrong type (["mnist"] is what papermill's
# -y "dataset: [mnist]" passes).
BAD = {
    "epochs": [0, -3, 2.5, "10", True, 10_000, None, ["mnist"]],
    "batch_size": [0, None, b"32", {"epochs": 1}],
    "seed": [-1, 2**32, 1.0, "42", None],
    "dataset": ["cifar10", "MNIST", ["mnist"], None, b"mnist"],
    "data_source": ["internet", None, 1j],
    "artifacts_dir": ["", 3, None, ["a"], "/proc/x", "/proc/1", "/sys/x"],
    "learning_rate": [0, 5, "fast", None, True],
    "strategy": ["tpu", None, ["auto"]],
    "mixed_precision": ["yes", 1, None],
    "image_path": ["/no/such/digit.png", None, object()],
}


def test_every_parameter_has_bad_values_in_the_table():
    assert set(BAD) == set(PARAMETER_NAMES)


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD.items() for value in values]
)
def test_a_bad_value_is_refused_naming_the_parameter_and_the_value(name, value):
    with pytest.raises(ValueError) as info:
        check_params(**{name: value})
    assert str(info.value).startswith(f"{name} must be") and repr(value) in str(info.value)


def test_unknown_names_are_refused_with_the_closest_known_one():
    with pytest.raises(ValueError, match=r"^unknown parameter 'epoch'; did you mean 'epochs'\?$"):
        check_params(epoch=3)
    with pytest.raises(ValueError, match=r"unknown parameter 'zzz'; the contract's names are \['epochs'"):
        check_params(zzz=3)


def test_names_not_given_keep_their_defaults_and_an_unused_artifacts_dir_is_not_checked(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / DEFAULTS.artifacts_dir).write_text("a file where the default folder would be")
    assert check_params(seed=7) == CourseParams(seed=7)  # what 00 passes: the only parameter it declares
    with pytest.raises(ValueError, match="artifacts_dir must be a folder that can be created and written"):
        check_params(seed=7, artifacts_dir=DEFAULTS.artifacts_dir)


def test_checking_artifacts_dir_leaves_no_trace(tmp_path):
    check_params(artifacts_dir=str(tmp_path / "new" / "deeper"))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "kept").mkdir()
    check_params(artifacts_dir=str(tmp_path / "kept"))
    assert list((tmp_path / "kept").iterdir()) == []
