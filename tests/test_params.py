"""The parameter contract: defaults, and a clear ValueError for every bad value."""

import pytest

from course_utils.params import DEFAULTS, PARAMETER_NAMES, CourseParams, check_params


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


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['epoch'\]"):
        check_params(epoch=3)
