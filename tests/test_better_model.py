"""07's improved model: augmentation only in training, BN and dropout in place, a decaying learning rate."""

import keras
import numpy as np
import pytest

from course_utils.data import load_sample
from course_utils.env import set_seed
from course_utils.models import (
    build_augmentation,
    build_cnn,
    build_improved_cnn,
    cosine_learning_rate,
    print_comparison_table,
    print_layer_table,
)


@pytest.fixture(scope="module")
def digits():
    """Eight real digits from the offline sample: augmentation of an all-zero image would change nothing."""
    return load_sample().x_train[:8]


def test_output_is_logits_per_class_with_the_seed_models_convolutions(digits):
    model = build_improved_cnn(num_classes=7)
    assert model.predict(digits, verbose=0).shape == (8, 7)
    assert model.layers[-1].activation.__name__ == "linear"  # logits, like the lesson's model
    conv = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in conv] == [c.filters for c in build_cnn().layers if hasattr(c, "filters")]


def test_batch_norm_and_dropout_are_present_and_augmentation_only_when_asked():
    kinds = [type(layer).__name__ for layer in build_improved_cnn().layers]
    assert kinds.count("BatchNormalization") == 3 and kinds.count("Dropout") == 2
    assert kinds[0] == "Sequential"  # the augmentation block comes first
    plain = [type(layer).__name__ for layer in build_improved_cnn(augment=False).layers]
    assert "Sequential" not in plain and plain == kinds[1:]


def test_augmentation_changes_images_in_training_only(digits):
    augment = build_augmentation(seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augment(digits, training=False)), digits)
    moved = keras.ops.convert_to_numpy(augment(digits, training=True))
    assert moved.shape == digits.shape and np.abs(moved - digits).mean() > 0.01


def test_inference_is_deterministic_and_training_mode_is_not(digits):
    set_seed(0)
    model = build_improved_cnn()
    first = model.predict(digits, verbose=0)
    np.testing.assert_allclose(model.predict(digits, verbose=0), first, rtol=1e-6, atol=1e-6)
    trained_mode = keras.ops.convert_to_numpy(model(digits, training=True))
    assert not np.allclose(trained_mode, first, atol=1e-3)  # augmentation, dropout, batch statistics


def test_printed_parameter_count_matches_count_params(capsys):
    model = build_improved_cnn()
    print_layer_table(model)
    total = capsys.readouterr().out.splitlines()[-1]
    assert total.split()[-1] == f"{model.count_params():,}"
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    # batch norm keeps a moving mean and variance per channel that the optimizer does not train
    assert model.count_params() - trainable == 2 * (32 + 64 + 64)


def test_the_schedule_decays_the_learning_rate_during_fit(digits):
    set_seed(0)
    model = build_improved_cnn()
    # compiled as 07 compiles it: Adam reading its learning rate from the schedule before every step
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=cosine_learning_rate(1e-3, total_steps=4)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    def learning_rate_now() -> float:
        return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))

    assert learning_rate_now() == pytest.approx(1e-3)
    model.fit(digits, np.arange(8) % 10, batch_size=4, epochs=1, verbose=0)  # 2 of the 4 steps
    assert learning_rate_now() == pytest.approx(0.5e-3 * (1 + 0.01), rel=1e-4)  # cosine half-way
    schedule = cosine_learning_rate(1e-3, total_steps=100)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 25, 50, 75, 100, 200)]
    assert rates == sorted(rates, reverse=True) and rates[-1] == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="total_steps must be a positive integer"):
        cosine_learning_rate(1e-3, total_steps=0)


def test_comparison_table_aligns_columns(capsys):
    print_comparison_table({"seed": {"test accuracy": 0.95, "epochs run": 10}, "improved": {"epochs run": 7}})
    header, seed, improved = capsys.readouterr().out.splitlines()
    assert len(header) == len(seed) == len(improved)
    assert header.split() == ["test", "accuracy", "epochs", "run"]
    assert seed.split() == ["seed", "95.00%", "10"]
    assert improved.split() == ["improved", "-", "7"]
    with pytest.raises(ValueError, match="results is empty"):
        print_comparison_table({})
