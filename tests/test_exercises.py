"""The exercises' checkers: right answers in any equivalent form pass, wrong ones get their specific reason,
the blank never raises, and every exercise the notebooks call exists and runs there."""

import math
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from course_tools.nbcheck import is_checked
from course_utils import exercises
from course_utils.data import load_dataset
from course_utils.exercises import (
    ExerciseText,
    ____,
    nb00,
    nb01,
    nb02,
    nb03,
    nb04,
    nb05,
    nb06,
    nb07,
    nb08,
    nb09,
)
from course_utils.models import build_cnn

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NUMBERED = {f"{n:02d}": next(NOTEBOOKS_DIR.glob(f"{n:02d}_*.ipynb")) for n in range(10)}
ALL_EXERCISES = [exercise for group in exercises.EXERCISE_SETS.values() for exercise in group]


def verdict(capsys, exercise, answer, *context):
    """What ``check`` returns and prints."""
    result = exercise.check(answer, *context)
    return result, capsys.readouterr().out


def assert_right(capsys, exercise, answer, *context):
    result, out = verdict(capsys, exercise, answer, *context)
    assert result is True, out
    assert out.startswith("Correct!")


def assert_wrong(capsys, exercise, answer, *context, reason):
    result, out = verdict(capsys, exercise, answer, *context)
    assert result is False, out
    assert out.startswith("Not yet.") and reason in out, out
    assert f"{exercise.name}.hint()" in out


@pytest.fixture(scope="module")
def sample():
    """The real offline MNIST sample, as the notebooks load it at CI parameters."""
    return load_dataset("mnist", "sample")


def history_of(accuracy, val_accuracy, val_loss=None):
    history = keras.callbacks.History()  # what fit returns; checks take it or its .history dict
    history.history = {"accuracy": list(accuracy), "val_accuracy": list(val_accuracy)}
    if val_loss is not None:
        history.history["val_loss"] = list(val_loss)
    return history


def confusions(y_true, *mistakes):
    """A copy of ``y_true`` with ``count`` images of ``true`` predicted as ``predicted`` for each mistake."""
    y_pred = np.array(y_true, copy=True)
    for true, predicted, count in mistakes:
        y_pred[np.flatnonzero(y_true == true)[:count]] = predicted
    return y_pred


# --- the machinery ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exercise", ALL_EXERCISES, ids=lambda e: e.name)
def test_the_blank_asks_for_an_answer_and_never_raises(capsys, exercise):
    assert exercise.check(____) is None
    assert capsys.readouterr().out == "Replace ____ with your answer, then run this cell again.\n"
    assert exercise.check((____, ____)) is None  # a pair or a shape still holding blanks


@pytest.mark.parametrize("exercise", ALL_EXERCISES, ids=lambda e: e.name)
def test_hint_and_solution_are_markdown_text(exercise):
    for text in (exercise.hint(), exercise.solution()):
        assert isinstance(text, ExerciseText) and len(text) > 40
        assert text._repr_markdown_() == str(text)
    assert exercise.hint() != exercise.solution()
    assert exercise.title and exercise.task


def test_the_groups_hold_one_to_four_exercises_named_by_notebook():
    assert list(exercises.EXERCISE_SETS) == [f"nb{n:02d}" for n in range(10)]
    for name, group in exercises.EXERCISE_SETS.items():
        assert 1 <= len(group) <= 4
        assert [e.name for e in group] == [f"{name}.q{i}" for i in range(1, len(group) + 1)]
        assert group.notebook == NUMBERED[name[2:]].name
        assert f"{name}.q1" in repr(group)


def test_a_check_called_without_what_it_needs_says_how_to_call_it():
    with pytest.raises(TypeError, match=re.escape("nb05.q2.check(answer, test_labels, predictions)")):
        nb05.q2.check((4, 9))
    with pytest.raises(TypeError, match=re.escape("nb03.q1.check(answer)")):
        nb03.q1.check(416, "extra")


# --- 00 · the environment -----------------------------------------------------------------------------------


def test_nb00_training_device(capsys):
    gpu = tf.config.PhysicalDevice(name="/physical_device:GPU:0", device_type="GPU")
    for answer in ("CPU", "cpu", " CPU:0 ", "/physical_device:CPU:0"):
        assert_right(capsys, nb00.q1, answer, [])
    for answer in ("GPU", "GPU:0", gpu):
        assert_right(capsys, nb00.q1, answer, [gpu])
    assert_right(capsys, nb00.q1, "gpu", ["/physical_device:GPU:0"])  # setup_gpu() returns names
    assert_wrong(capsys, nb00.q1, "GPU", [], reason="gpus is an empty list")
    assert_wrong(capsys, nb00.q1, "CPU", [gpu], reason="found 1 GPU(s) here (/physical_device:GPU:0)")
    assert_wrong(capsys, nb00.q1, 0, [], reason="Expected the device as text, 'CPU' or 'GPU'")
    assert_wrong(capsys, nb00.q1, "TPU", [], reason="Expected 'CPU' or 'GPU'; got 'TPU'")
    with pytest.raises(TypeError, match="check\\(answer, gpus\\)"):
        nb00.q1.check("CPU", None)


def test_nb00_seed_guarantee(capsys):
    for answer in ("b", " B ", "(b)", "b."):
        assert_right(capsys, nb00.q3, answer)
    assert_wrong(capsys, nb00.q3, "a", reason="Not across machines")
    assert_wrong(capsys, nb00.q3, "c", reason="not how fast anything runs")
    assert_wrong(capsys, nb00.q3, "d", reason="does not make the model better")
    assert_wrong(capsys, nb00.q3, 2, reason="Expected one letter, 'a' to 'd' as text")
    assert_wrong(capsys, nb00.q3, "e", reason="Expected one letter, 'a' to 'd'; got 'e'")


def test_nb00_log_level(capsys):
    for answer in (1, "1", np.int64(1), 1.0):
        assert_right(capsys, nb00.q4, answer)
    assert "written as the text '1'" in verdict(capsys, nb00.q4, 1)[1]
    assert_wrong(capsys, nb00.q4, 0, reason="0 shows everything")
    assert_wrong(capsys, nb00.q4, 2, reason="2 hides the warnings as well")
    assert_wrong(capsys, nb00.q4, "3", reason="3 is what course_utils sets")
    assert_wrong(capsys, nb00.q4, 5, reason="levels run from 0 (show all) to 3")
    assert_wrong(capsys, nb00.q4, "one", reason="Expected a level, a whole number from 0 to 3")


# --- 01 · the data ----------------------------------------------------------------------------------------


def test_nb01_count_of_a_class_on_the_real_sample(capsys, sample):
    labels = sample.y_train
    truth = sum(1 for label in labels.tolist() if label == 7)
    for answer in (truth, np.int64(truth), float(truth), np.array(truth)):
        assert_right(capsys, nb01.q1, answer, labels)
    assert_wrong(capsys, nb01.q1, len(labels), labels, reason="is every training image")
    assert_wrong(capsys, nb01.q1, np.bincount(labels), labels, reason="count of every digit")
    assert_wrong(capsys, nb01.q1, dict(enumerate(np.bincount(labels).tolist())), labels, reason="every digit")
    assert_wrong(capsys, nb01.q1, labels == 7, labels, reason="add the mask up with .sum()")
    assert_wrong(capsys, nb01.q1, truth + 1, labels, reason="too many")
    assert_wrong(capsys, nb01.q1, str(truth), labels, reason="write the number without quotes")
    assert_wrong(capsys, nb01.q1, 3.5, labels, reason="3.5 is not whole")


def test_nb01_count_names_the_digit_counted_by_mistake(capsys):
    labels = np.repeat(np.arange(10), np.arange(1, 11))  # one 0, two 1s, ... eight 7s, nine 8s
    assert_right(capsys, nb01.q1, 8, labels)
    assert_wrong(capsys, nb01.q1, 9, labels, reason="9 is the number of 8s")


def test_nb01_scaled_pixel(capsys):
    for answer in (0.2, 51 / 255, np.float32(51) / np.float32(255), 0.2000):
        assert_right(capsys, nb01.q2, answer)
    assert_wrong(capsys, nb01.q2, 51, reason="51 is the raw value")
    assert_wrong(capsys, nb01.q2, 51 / 256, reason="You divided by 256")
    assert_wrong(capsys, nb01.q2, 1 - 51 / 255, reason="does not invert")
    assert_wrong(capsys, nb01.q2, 51 / 127.5 - 1, reason="[-1, 1]")
    assert_wrong(capsys, nb01.q2, 1.5, reason="between 0 and 1")
    assert_wrong(capsys, nb01.q2, 0.5, reason="not the raw value divided by 255")
    assert_wrong(capsys, nb01.q2, "0.2", reason="without quotes")


def test_nb01_shape_after_the_reshape(capsys, sample):
    images = sample.x_test
    n = len(images)
    for answer in (
        (n, 28, 28, 1),
        [n, 28, 28, 1],
        np.array([n, 28, 28, 1]),
        images.shape,
        tf.TensorShape(images.shape),
    ):
        assert_right(capsys, nb01.q3, answer, images)
    assert_wrong(capsys, nb01.q3, (n, 28, 28), images, reason="shape before the reshape")
    assert_wrong(capsys, nb01.q3, (28, 28, 1), images, reason="one image's shape")
    assert_wrong(capsys, nb01.q3, (n, 1, 28, 28), images, reason="puts the channels first")
    assert_wrong(capsys, nb01.q3, (n, 784), images, reason="flattened")
    assert_wrong(capsys, nb01.q3, (-1, 28, 28, 1), images, reason="-1 is what you write in reshape")
    assert_wrong(capsys, nb01.q3, (None, 28, 28, 1), images, reason="None stands for")
    assert_wrong(capsys, nb01.q3, (len(sample.x_train), 28, 28, 1), images, reason="counts the test images")
    assert_wrong(capsys, nb01.q3, str((n, 28, 28, 1)), images, reason="write it without quotes")
    assert_wrong(capsys, nb01.q3, images, images, reason="its .shape attribute")
    assert_wrong(capsys, nb01.q3, (n, 28.0, 28, 1), images, reason="28.0 in it is not one")


# --- 02 · looking at the data -------------------------------------------------------------------------------


def test_nb02_mean_pixel_on_the_real_sample(capsys, sample):
    x = sample.x_train
    truth = float(np.mean(x, dtype=np.float64))
    for answer in (round(truth, 3), np.float32(truth), truth):
        assert_right(capsys, nb02.q1, answer, x)
    assert_wrong(capsys, nb02.q1, truth * 255, x, reason="0-255 scale")
    assert_wrong(capsys, nb02.q1, float(x[0].mean()), x, reason="the first image only")
    assert_wrong(capsys, nb02.q1, 1.0, x, reason="the largest pixel value")
    assert_wrong(capsys, nb02.q1, 0, x, reason="the ink pulls the mean above 0")
    assert_wrong(capsys, nb02.q1, 0.5, x, reason="too high")
    assert_wrong(capsys, nb02.q1, [truth], x, reason="Expected a number such as 0.5")


def test_nb02_brightest_class_on_the_real_sample(capsys, sample):
    x, y, names = sample.x_train, sample.y_train, sample.class_names
    means = [float(x[y == c].mean()) for c in range(10)]
    brightest, darkest = means.index(max(means)), means.index(min(means))
    middle = sorted(range(10), key=means.__getitem__)[5]
    for answer in (brightest, np.int64(brightest), names[brightest]):
        assert_right(capsys, nb02.q2, answer, x, y, names)
    assert_right(capsys, nb02.q2, brightest, x, y)  # class names are optional
    assert_wrong(capsys, nb02.q2, darkest, x, y, names, reason="is the *darkest*")
    assert_wrong(capsys, nb02.q2, middle, x, y, names, reason="4 class(es) are brighter")
    assert_wrong(capsys, nb02.q2, 10, x, y, names, reason="numbered 0 to 9")
    assert_wrong(capsys, nb02.q2, "zero", x, y, names, reason="Expected a class number")


# --- 03 · anatomy of the model ------------------------------------------------------------------------------


def test_nb03_conv_parameters_agree_with_keras(capsys):
    keras_count = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5))]).count_params()
    for answer in (keras_count, np.int32(keras_count), float(keras_count)):
        assert_right(capsys, nb03.q1, answer)
    assert_wrong(capsys, nb03.q1, 400, reason="You counted the weights (400) but not the 16 biases")
    assert_wrong(capsys, nb03.q1, 401, reason="One bias per filter")
    assert_wrong(capsys, nb03.q1, 26, reason="That is one filter")
    assert_wrong(capsys, nb03.q1, 320, reason="conv1's count")
    assert_wrong(capsys, nb03.q1, 160, reason="You used a 3 x 3 filter")
    assert_wrong(capsys, nb03.q1, 24 * 24 * 16, reason="Parameters do not depend on the image size")
    assert_wrong(capsys, nb03.q1, 1000, reason="Count each filter's weights")
    assert_wrong(capsys, nb03.q1, "416", reason="Expected a parameter count, a whole number")


def test_nb03_shape_after_a_change_agrees_with_keras(capsys):
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5)), layers.MaxPooling2D((2, 2))]
    )
    for answer in (model.output_shape, model.output_shape[1:], [12, 12, 16], np.array([12, 12, 16])):
        assert_right(capsys, nb03.q2, answer)
    assert_wrong(capsys, nb03.q2, (24, 24, 16), reason="That is the shape before pooling")
    assert_wrong(capsys, nb03.q2, (28, 28, 16), reason="padding='same'")
    assert_wrong(capsys, nb03.q2, (14, 14, 16), reason="first shrinks 28 to 24")
    assert_wrong(capsys, nb03.q2, (26, 26, 16), reason="3 x 3 filter's shrinking")
    assert_wrong(capsys, nb03.q2, (13, 13, 16), reason="3 x 3 filter then pooling")
    assert_wrong(capsys, nb03.q2, (12, 12), reason="channels axis is missing")
    assert_wrong(capsys, nb03.q2, (12, 12, 32), reason="16, not 32")
    assert_wrong(capsys, nb03.q2, (1, 12, 12, 16), reason="Leave out the batch axis")
    assert_wrong(capsys, nb03.q2, (10, 10, 10), reason="the convolution, then the pooling")
    assert_wrong(capsys, nb03.q2, 12, reason="Expected a shape, a tuple of whole numbers")


def test_nb03_dense_without_pooling_agrees_with_keras(capsys):
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3)),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3)),
            layers.Flatten(),
            layers.Dense(64, name="dense"),
        ]
    )
    assert_right(capsys, nb03.q3, model.get_layer("dense").count_params())
    assert_wrong(capsys, nb03.q3, 102_464, reason="*with* pool2")
    assert_wrong(capsys, nb03.q3, 7_744 * 64, reason="not the 64 biases")
    assert_wrong(capsys, nb03.q3, 7_744, reason="length of the flattened vector")
    assert_wrong(capsys, nb03.q3, 7_745, reason="That is one unit")
    assert_wrong(capsys, nb03.q3, (13 * 13 * 64 + 1) * 64, reason="uses 13 x 13")
    assert_wrong(capsys, nb03.q3, 320 + 18_496 + 495_680 + 650, reason="That is the whole model")


# --- 00-03 · the exercises that ask for code ---------------------------------------------------------------


def test_nb00_device_kinds_inspects_the_list_the_code_made(capsys):
    devices = tf.config.list_physical_devices()
    truth = [device.device_type for device in devices]
    assert_right(capsys, nb00.q2, truth)
    assert_right(capsys, nb00.q2, tuple(truth))
    assert_wrong(capsys, nb00.q2, devices, reason="Those are the devices themselves")
    assert_wrong(capsys, nb00.q2, [device.name for device in devices], reason="the devices' names")
    gpus_only = [kind for kind in truth if kind == "GPU"]
    assert_wrong(capsys, nb00.q2, gpus_only, reason="That lists the GPUs only")
    assert_wrong(capsys, nb00.q2, "CPU", reason="make a list with one kind per device")
    assert_wrong(capsys, nb00.q2, [*truth, "TPU"], reason="does not match them")


def test_nb01_mean_seven_inspects_the_array_the_code_made(capsys, sample):
    images, labels = sample.x_train.astype("float64"), sample.y_train
    truth = images[labels == 7].mean(axis=0)
    for answer in (truth, truth.astype("float32"), truth[..., 0]):
        assert_right(capsys, nb01.q4, answer, images, labels)
    assert_wrong(capsys, nb01.q4, images.mean(axis=0), images, labels, reason="mean of every training image")
    assert_wrong(capsys, nb01.q4, images[labels == 7].mean(), images, labels, reason="That is one number")
    assert_wrong(capsys, nb01.q4, images[labels == 1].mean(axis=0), images, labels, reason="the digit 1")
    assert_wrong(capsys, nb01.q4, images[labels == 7].sum(axis=0), images, labels, reason="the sum of the 7s")
    assert_wrong(capsys, nb01.q4, images[labels == 7], images, labels, reason="Expected one image")


@pytest.fixture
def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def draw_row(plt, images, rows=1, cols=10, count=10):
    fig = plt.figure(figsize=(20, 2))
    for i in range(count):
        plt.subplot(rows, cols, i + 1)
        plt.imshow(images[i], cmap=plt.cm.binary)
    return fig


def test_nb02_sevens_row_inspects_the_figure_the_code_drew(capsys, sample, pyplot):
    images, labels = sample.x_train, sample.y_train
    sevens = images[labels == 7]
    assert_right(capsys, nb02.q3, draw_row(pyplot, sevens), images, labels)
    assert_wrong(capsys, nb02.q3, pyplot.figure(), images, labels, reason="The figure is empty")
    assert_wrong(capsys, nb02.q3, draw_row(pyplot, images), images, labels, reason="Select the 7s first")
    two_rows = draw_row(pyplot, sevens, rows=2, cols=5)
    assert_wrong(capsys, nb02.q3, two_rows, images, labels, reason="The grid has 2 row(s) of 5 places")
    assert_wrong(capsys, nb02.q3, draw_row(pyplot, sevens, count=9), images, labels, reason="shows 9 images")
    swapped = draw_row(pyplot, np.concatenate([sevens[1:2], sevens[0:1], sevens[2:10]]))
    assert_wrong(capsys, nb02.q3, swapped, images, labels, reason="draw them in order")
    with pytest.raises(TypeError, match="plt.figure"):
        nb02.q3.check("fig", images, labels)


def lesson_model(padding="valid", units=64):
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu", padding=padding),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu", padding=padding),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(units, activation="relu"),
            layers.Dense(10),
        ]
    )


def test_nb03_same_padding_inspects_the_model_the_code_built(capsys):
    padded = lesson_model("same")
    truth = padded.count_params()
    assert truth == 220_234
    for answer in (truth, np.int64(truth), float(truth)):
        assert_right(capsys, nb03.q4, answer, padded)
    assert_wrong(capsys, nb03.q4, truth, lesson_model(), reason='still has padding="valid"')
    assert_wrong(capsys, nb03.q4, 121_930, padded, reason="That is the lesson's count")
    assert_wrong(
        capsys, nb03.q4, 320 + 18_496 + (14 * 14 * 64 + 1) * 64 + 650, padded, reason="second pooling"
    )
    assert_wrong(capsys, nb03.q4, 200_768, padded, reason="the dense layer alone")
    assert_wrong(capsys, nb03.q4, 123_456, padded, reason="padded_model.summary() shows the shapes")
    assert_wrong(capsys, nb03.q4, truth, lesson_model("same", units=32), reason="keep the lesson's filters")
    no_pool = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), padding="same")])
    assert_wrong(capsys, nb03.q4, truth, no_pool, reason="keep the lesson's layers")
    assert_wrong(capsys, nb03.q4, "220234", padded, reason="Expected a parameter count")
    with pytest.raises(TypeError, match="padded_model"):
        nb03.q4.check(truth, "model")


# --- 04 · compile and fit -----------------------------------------------------------------------------------


def fitted(steps, epochs=1, model=None):
    """What ``fit`` returns, as the checks read it: ``.params`` (steps per epoch, epochs) and ``.model``."""
    history = keras.callbacks.History()
    history.params = {"verbose": 0, "epochs": epochs, "steps": steps}
    history.set_model(model)
    return history


def test_nb04_bigger_batch_reads_the_steps_fit_took(capsys):
    model = object()  # the notebook's trained model, which the learner must not train further
    assert_right(capsys, nb04.q1, fitted(16), model)
    assert "takes 63 steps" in verdict(capsys, nb04.q1, fitted(16), model)[1]
    assert_wrong(capsys, nb04.q1, fitted(63), model, reason="pass batch_size=128 to fit")
    assert_wrong(capsys, nb04.q1, fitted(469), model, reason="fit on train_images[:2000]")
    assert_wrong(capsys, nb04.q1, fitted(16, epochs=3), model, reason="one epoch")
    assert_wrong(capsys, nb04.q1, fitted(16, model=model), model, reason="Fit a fresh copy")
    assert_wrong(capsys, nb04.q1, fitted(8), model, reason="it takes 16")
    assert_wrong(capsys, nb04.q1, {"accuracy": [0.9]}, model, reason="not its .history")
    assert_wrong(capsys, nb04.q1, 16, model, reason="Expected what fit returns")


def test_nb04_best_epoch(capsys):
    history = history_of([0.80, 0.90, 0.95, 0.97], [0.85, 0.93, 0.92, 0.90], val_loss=[0.5, 0.35, 0.3, 0.4])
    for answer in (2, np.int64(2), 2.0):
        assert_right(capsys, nb04.q2, answer, history.history)
    assert_right(capsys, nb04.q2, 2, history)  # the History object itself
    assert_wrong(capsys, nb04.q2, 1, history.history, reason="you gave the 0-based list index")
    assert_wrong(capsys, nb04.q2, 4, history.history, reason="*training* accuracy")
    assert_wrong(capsys, nb04.q2, 3, history.history, reason="lowest validation *loss*")
    assert_wrong(capsys, nb04.q2, 7, history.history, reason="epochs 1 to 4")
    assert_wrong(capsys, nb04.q2, "2", history.history, reason="Expected an epoch number")
    tied = history_of([0.8, 0.9, 0.95], [0.9, 0.9, 0.85])
    assert_right(capsys, nb04.q2, 1, tied)
    assert_right(capsys, nb04.q2, 2, tied)
    with pytest.raises(TypeError, match="validation_data"):
        nb04.q2.check(1, {"accuracy": [0.9]})


def test_nb04_training_or_validation(capsys):
    overfit = history_of([0.90, 0.99], [0.92, 0.97])
    for answer in ("training", "Train", " accuracy "):
        assert_right(capsys, nb04.q3, answer, overfit.history)
    assert "overfitting" in verdict(capsys, nb04.q3, "training", overfit)[1]
    assert_wrong(capsys, nb04.q3, "validation", overfit.history, reason="'accuracy' is training")
    early = history_of([0.85], [0.93])  # one epoch: training accuracy is averaged while it improved
    assert_right(capsys, nb04.q3, "val", early)
    assert "averages training accuracy over the epoch" in verdict(capsys, nb04.q3, "validation", early)[1]
    assert_wrong(capsys, nb04.q3, "training", early, reason="'val_accuracy' is validation")
    equal = history_of([0.9], [0.9])
    assert_right(capsys, nb04.q3, "training", equal)
    assert_right(capsys, nb04.q3, "validation", equal)
    assert_wrong(capsys, nb04.q3, "both", overfit, reason="Expected 'training' or 'validation'")
    assert_wrong(capsys, nb04.q3, 1, overfit, reason="as text in quotes")


# --- 05 · prediction --------------------------------------------------------------------------------------


def test_nb05_softmax_by_hand(capsys):
    probability = keras.ops.softmax(np.array([3.0, 1.0, 0.0]))[0]
    for answer in (0.844, probability, float(probability), np.float32(probability)):
        assert_right(capsys, nb05.q1, answer)
    assert_wrong(capsys, nb05.q1, 0.75, reason="You divided each logit by their sum")
    assert_wrong(capsys, nb05.q1, 1, reason="softmax gives every class a share")
    assert_wrong(capsys, nb05.q1, 3, reason="3 is the logit itself")
    assert_wrong(capsys, nb05.q1, math.exp(3), reason="now divide it by the sum")
    assert_wrong(capsys, nb05.q1, 1 / 3, reason="an even split")
    assert_wrong(capsys, nb05.q1, [0.84, 0.11, 0.04], reason="you gave all three")
    assert_wrong(capsys, nb05.q1, 2.5, reason="between 0 and 1")
    assert_wrong(capsys, nb05.q1, 0.5, reason="is not e^3 / (e^3 + e^1 + e^0)")


def test_nb05_most_confused_pair_counts_both_directions(capsys, sample):
    y_true = sample.y_test
    # 4<->9: 5 + 3 = 8 in all; 3->5 is the largest single cell (6) but 3<->5 totals 6; 7->1 twice
    y_pred = confusions(y_true, (4, 9, 5), (9, 4, 3), (3, 5, 6), (7, 1, 2))
    for answer in ((4, 9), (9, 4), [9, 4], {4, 9}, np.array([4, 9]), (np.int64(4), np.int64(9))):
        assert_right(capsys, nb05.q2, answer, y_true, y_pred)
    assert "5 images of 4 were read as 9" in verdict(capsys, nb05.q2, (4, 9), y_true, y_pred)[1]
    assert_wrong(
        capsys, nb05.q2, (3, 5), y_true, y_pred, reason="largest single cell, but count both directions"
    )
    assert_wrong(capsys, nb05.q2, (4, 4), y_true, y_pred, reason="is on the diagonal")
    assert_wrong(capsys, nb05.q2, {4}, y_true, y_pred, reason="is on the diagonal")
    assert_wrong(capsys, nb05.q2, (0, 1), y_true, y_pred, reason="never confused 0 and 1")
    assert_wrong(capsys, nb05.q2, (7, 1), y_true, y_pred, reason="another pair more often (8 times)")
    assert_wrong(capsys, nb05.q2, (4, 10), y_true, y_pred, reason="numbered 0 to 9")
    assert_wrong(capsys, nb05.q2, 49, y_true, y_pred, reason="Expected two class numbers")
    assert_wrong(capsys, nb05.q2, "4, 9", y_true, y_pred, reason="Expected two class numbers")


def test_nb05_confused_pair_ties_and_a_perfect_model(capsys, sample):
    y_true = sample.y_test
    tied = confusions(y_true, (4, 9, 4), (3, 5, 4))
    assert_right(capsys, nb05.q2, (5, 3), y_true, tied)
    assert "tied with (4, 9)" in verdict(capsys, nb05.q2, (3, 5), y_true, tied)[1]
    assert_right(capsys, nb05.q2, (1, 2), y_true, y_true)
    assert "no mistakes" in verdict(capsys, nb05.q2, (1, 2), y_true, y_true)[1]


def logits_for(predictions, sure):
    """Logits whose argmax is ``predictions``, with the top probability growing with ``sure``."""
    pre = np.zeros((len(predictions), 10), dtype=np.float32)
    pre[np.arange(len(predictions)), predictions] = sure
    return pre


def test_nb05_most_confident_mistake(capsys):
    labels = np.array([1, 2, 3, 4, 5, 6])
    predicted = np.array([1, 7, 3, 9, 8, 6])  # mistakes at 1, 4 and 3 (in that order of certainty)
    pre = logits_for(predicted, np.array([20.0, 4.0, 30.0, 6.0, 5.0, 1.0]))
    pre[4, 0] = 2.0  # image 4 has the largest logit sum but not the largest top probability
    for answer in (3, np.int64(3), 3.0, np.array(3)):
        assert_right(capsys, nb05.q3, answer, pre, labels)
    assert "read it as 9" in verdict(capsys, nb05.q3, 3, pre, labels)[1]
    assert_wrong(capsys, nb05.q3, 2, pre, labels, reason="reads test image 2 right")
    assert_wrong(capsys, nb05.q3, 1, pre, labels, reason="*least* confident")
    assert_wrong(capsys, nb05.q3, 10, pre, labels, reason="images 0 to 5")
    assert_wrong(capsys, nb05.q3, np.array([3, 4]), pre, labels, reason="Expected one index")
    assert_wrong(capsys, nb05.q3, "3", pre, labels, reason="without quotes")
    with pytest.raises(TypeError, match="differ in length"):
        nb05.q3.check(3, pre, labels[:3])


def test_nb05_most_confident_mistake_names_softmax_and_positions(capsys):
    labels = np.array([0, 0, 0, 0])
    pre = np.zeros((4, 10), dtype=np.float32)
    pre[1, [5, 6]] = [10.0, 9.9]  # the largest logit, but shared with a close second: less sure
    pre[3, 7] = 8.0  # a smaller logit, alone: the most probable mistake
    pre[0, 0] = pre[2, 0] = 5.0
    assert_right(capsys, nb05.q3, 3, pre, labels)
    assert_wrong(capsys, nb05.q3, 1, pre, labels, reason="apply softmax first")
    labels = np.array([0, 0, 0, 0, 0])
    pre = logits_for(np.array([0, 0, 3, 0, 2]), np.array([5.0, 5.0, 2.0, 5.0, 9.0]))
    assert_wrong(capsys, nb05.q3, 1, pre, labels, reason="its index in the test set")  # position 1 of [2, 4]
    assert_right(capsys, nb05.q3, 4, pre, labels)


# --- 06 · your own digit ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prepared_digit():
    from course_utils import digits

    return digits.preprocess_image(digits.SAMPLE_DIR / "digit_2_dark-on-light.png")


def test_nb06_moved_digit(capsys, prepared_digit):
    x = prepared_digit
    model = build_cnn()
    moved = np.zeros_like(x)
    moved[:, 4:] = x[:, :-4]
    for answer in (moved, np.roll(x, 4, axis=1), moved.tolist()):
        assert_right(capsys, nb06.q1, answer, x, model)
    assert "the moved one as" in verdict(capsys, nb06.q1, moved, x, model)[1]
    assert_wrong(capsys, nb06.q1, np.roll(x, 4, axis=0), x, model, reason="You moved it down")
    assert_wrong(capsys, nb06.q1, np.roll(x, -4, axis=1), x, model, reason="to the left")
    assert_wrong(capsys, nb06.q1, np.roll(x, 2, axis=1), x, model, reason="0 rows down and 2 columns")
    assert_wrong(capsys, nb06.q1, x, x, model, reason="x itself")
    assert_wrong(capsys, nb06.q1, moved[..., 0], x, model, reason="Keep the shape (28, 28, 1)")
    assert_wrong(capsys, nb06.q1, 1 - x, x, model, reason="That is not x moved")
    assert_wrong(capsys, nb06.q1, 4, x, model, reason="Expected an image")


# --- 07 · a better model ----------------------------------------------------------------------------------


def lesson_layers(*extra_at):
    """The lesson's layers, with (position, layer) pairs inserted."""
    stack = [
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ]
    for position, layer in extra_at:
        stack.insert(position, layer)
    return keras.Sequential([keras.Input((28, 28, 1)), *stack])


def test_nb07_dropout_model(capsys):
    assert_right(capsys, nb07.q1, lesson_layers((6, layers.Dropout(0.5))))
    assert "dropout adds none" in verdict(capsys, nb07.q1, lesson_layers((6, layers.Dropout(0.5))))[1]
    assert_wrong(capsys, nb07.q1, lesson_layers(), reason="no Dropout layer")
    assert_wrong(capsys, nb07.q1, lesson_layers((7, layers.Dropout(0.5))), reason="after the output layer")
    assert_wrong(capsys, nb07.q1, lesson_layers((5, layers.Dropout(0.5))), reason="sits after Flatten")
    assert_wrong(capsys, nb07.q1, lesson_layers((6, layers.Dropout(0.25))), reason="rate is 0.25")
    two = lesson_layers((6, layers.Dropout(0.5)), (5, layers.Dropout(0.5)))
    assert_wrong(capsys, nb07.q1, two, reason="2 Dropout layers")
    no_pool = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, (3, 3)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10),
        ]
    )
    assert_wrong(capsys, nb07.q1, no_pool, reason="keep the lesson's layers in their order")
    softmax = lesson_layers((6, layers.Dropout(0.5)))
    softmax.layers[-1].activation = keras.activations.softmax
    assert_wrong(capsys, nb07.q1, softmax, reason="no activation, so that it gives logits")
    assert_wrong(capsys, nb07.q1, "model", reason="Expected a Keras model")


# --- 08 · Fashion-MNIST -----------------------------------------------------------------------------------


def test_nb08_one_change_against_overfitting(capsys):
    lesson = history_of([0.80, 0.95], [0.82, 0.88])
    lesson.set_model(build_cnn())
    changed = history_of([0.78, 0.86], [0.80, 0.87])
    changed.set_model(lesson_layers((5, layers.Dropout(0.25))))
    changed.params = {"epochs": 2, "steps": 10}
    assert_right(capsys, nb08.q1, changed, lesson)
    out = verdict(capsys, nb08.q1, changed, lesson)[1]
    assert "(dropout)" in out and "-1.0 points" in out and "+7.0 points after 2 epoch(s)" in out
    unchanged = history_of([0.8], [0.8])
    unchanged.set_model(build_cnn())
    unchanged.params = {"epochs": 1, "steps": 10}
    assert_wrong(capsys, nb08.q1, unchanged, lesson, reason="none of 07's changes")
    assert_wrong(capsys, nb08.q1, lesson, lesson, reason="the lesson's model of this notebook")
    no_val = keras.callbacks.History()
    no_val.history, no_val.params = {"accuracy": [0.9]}, {"epochs": 1, "steps": 10}
    no_val.set_model(changed.model)
    assert_wrong(capsys, nb08.q1, no_val, lesson, reason="validation_split=0.1")
    long = history_of([0.8] * 5, [0.8] * 5)
    long.set_model(changed.model)
    long.params = {"epochs": 5, "steps": 10}
    assert_wrong(capsys, nb08.q1, long, lesson, reason="yours ran 5")
    assert_wrong(capsys, nb08.q1, changed.history, lesson, reason="not its .history")
    with pytest.raises(TypeError, match="validation_split"):
        nb08.q1.check(changed, {"accuracy": [0.9]})


# --- 09 · scaling out -------------------------------------------------------------------------------------


def test_nb09_mixed_precision_model_under_the_strategy(capsys):
    from course_utils.distribute import build_cnn_for_policy, mixed_precision_policy

    strategy = tf.distribute.get_strategy()

    def compiled(model):
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    with mixed_precision_policy(True):
        right_model = compiled(build_cnn_for_policy(num_classes=10))
        all_float16 = compiled(build_cnn(num_classes=10))
        not_compiled = build_cnn_for_policy(num_classes=10)
    assert_right(capsys, nb09.q1, right_model, strategy)
    assert "LossScaleOptimizer" in verdict(capsys, nb09.q1, right_model, strategy)[1]
    assert_wrong(capsys, nb09.q1, all_float16, strategy, reason="Its output layer computes in float16")
    assert_wrong(capsys, nb09.q1, not_compiled, strategy, reason="not compiled")
    assert_wrong(
        capsys, nb09.q1, compiled(build_cnn_for_policy(num_classes=10)), strategy, reason="not float16"
    )
    mirrored = tf.distribute.MirroredStrategy(["/cpu:0"])
    assert_wrong(capsys, nb09.q1, right_model, mirrored, reason="outside this strategy's scope")
    assert_wrong(capsys, nb09.q1, "model", strategy, reason="Expected a Keras model")


# --- the solutions work, in the notebooks' own namespaces -------------------------------------------------


@pytest.fixture(scope="module")
def notebook_namespaces(sample, prepared_digit):
    """The names each notebook has defined when its exercises run (at CI parameters, on the sample)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from course_utils.distribute import build_cnn_for_policy, mixed_precision_policy
    from course_utils.params import check_params

    params = check_params()
    rng = np.random.default_rng(0)
    lesson_model = build_cnn()
    fashion_history = history_of([0.80, 0.95], [0.82, 0.88])
    fashion_history.set_model(build_cnn())
    x_test_raw = sample.x_test.reshape(-1, 28, 28)
    predictions = confusions(sample.y_test, (4, 9, 7), (9, 4, 2), (3, 5, 6))
    lesson = {"train_images": sample.x_train, "train_labels": sample.y_train}
    yield {
        "00": {"np": np, "tf": tf, "gpus": []},
        "01": {"np": np, **lesson, "test_images": x_test_raw.reshape(-1, 28, 28, 1)},
        "02": {"np": np, "plt": plt, "data": sample, **lesson},
        "03": {"np": np, "keras": keras, "layers": layers, "models": keras.models},
        "04": {
            "keras": keras,
            "data": sample,
            "params": params,
            "model": lesson_model,
            **lesson,
            "history": history_of([0.8, 0.9], [0.85, 0.88]),
        },
        "05": {
            "np": np,
            "keras": keras,
            "test_labels": sample.y_test,
            "predictions": predictions,
            "pre": logits_for(predictions, rng.uniform(1, 10, len(predictions))),
        },
        "06": {"np": np, "x": prepared_digit, "model": lesson_model},
        "07": {"keras": keras},
        "08": {"keras": keras, "data": sample, "params": params, "history": fashion_history},
        "09": {
            "keras": keras,
            "data": sample,
            "params": params,
            "strategy": tf.distribute.get_strategy(),
            "mixed_precision_policy": mixed_precision_policy,
            "build_cnn_for_policy": build_cnn_for_policy,
        },
    }
    plt.close("all")


def usage_arguments(exercise) -> list[str]:
    """The names a notebook passes to ``check``: ``check(fig, images)`` gives ``['fig', 'images']``."""
    inside = exercise.usage.removeprefix("check(").removesuffix(")")
    return [name.strip() for name in inside.split(",")]


def solution_code(exercise) -> str:
    """The code of a solution: its ```python block, or its first `<answer name> = ...` span."""
    text = str(exercise.solution())
    block = re.search(r"```python\n(.*?)```", text, re.S)
    if block:
        return block.group(1)
    name = usage_arguments(exercise)[0]
    return re.search(rf"`({name} = [^`]+)`", text).group(1)


@pytest.mark.parametrize("exercise", ALL_EXERCISES, ids=lambda e: e.name)
def test_each_solution_runs_in_its_notebook_and_passes_the_check(capsys, exercise, notebook_namespaces):
    namespace = dict(notebook_namespaces[exercise.name[2:4]])
    exec(solution_code(exercise), namespace)
    arguments = eval(f"[{', '.join(usage_arguments(exercise))}]", namespace)
    assert exercise.check(*arguments) is True, capsys.readouterr().out


# --- the notebooks call exactly these exercises, and their cells run with the blank ------------------------


def exercise_cells(path):
    """The cells, where ``## Exercises`` starts, and where they end (``## Recap`` or ``## What's next``)."""
    nb = nbformat.read(path, as_version=4)
    headings = [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]
    start = next(i for i, source in headings if source.startswith("## Exercises"))
    end = next(i for i, source in headings if i > start and source.startswith(("## Recap", "## What's next")))
    return nb.cells, start, end


def test_every_exercise_the_notebooks_mention_exists():
    referenced = set()
    for path in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for group, question in re.findall(r"\b(nb\d\d)\.(q\d+)\b", cell.source):
                referenced.add((path.name, group, question))
            for names in re.findall(r"from course_utils\.exercises import ([\w, ]+)", cell.source):
                for name in (n.strip() for n in names.split(",")):
                    assert hasattr(exercises, name), (
                        f"{path.name} imports {name}, which course_utils.exercises lacks"
                    )
    assert referenced
    for notebook, group, question in referenced:
        assert hasattr(exercises.EXERCISE_SETS[group], question), f"{notebook} uses {group}.{question}"


@pytest.mark.parametrize("number", sorted(NUMBERED), ids=lambda n: NUMBERED[n].stem)
def test_each_notebook_ends_with_its_exercises_then_a_recap(number):
    cells, start, end = exercise_cells(NUMBERED[number])
    group = exercises.EXERCISE_SETS[f"nb{number}"]
    assert end == start + 2 + 2 * len(group), "## Exercises holds the exercises and nothing else"
    assert cells[start + 1].source == f"from course_utils.exercises import ____, {group.name}"
    for index, exercise in enumerate(group):
        task, code = cells[start + 2 + 2 * index], cells[start + 3 + 2 * index]
        assert task.cell_type == "markdown" and code.cell_type == "code"
        assert f"`{exercise.name}.hint()`" in task.source and f"`{exercise.name}.solution()`" in task.source
        assert exercise.title in task.source
        for choice in exercise.choices.values():  # the options learners read are the ones the check knows
            assert " ".join(choice.split()) in " ".join(task.source.split())
        lines = code.source.splitlines()
        assert lines[-1] == f"{exercise.name}.{exercise.usage}"
        if is_code_exercise(
            exercise, code.source
        ):  # code to write or change: a blank or a comment says where
            assert "____" in code.source or "# your code" in code.source
        else:  # a value: one blank, then the check
            assert len(lines) == 2 and lines[0].startswith("answer = ____  # your answer")
        assert not is_checked(code) and not code.outputs


def is_code_exercise(exercise, source: str) -> bool:
    """An exercise where the learner writes or changes code (the check inspects what it produced)."""
    return "# your code" in source or usage_arguments(exercise)[0] != "answer"


@pytest.mark.parametrize("number", sorted(NUMBERED), ids=lambda n: NUMBERED[n].stem)
def test_the_exercise_cells_run_as_given(capsys, number, notebook_namespaces):
    """Run unchanged, each exercise cell asks for the answer (the blank) or says what is still missing."""
    cells, start, end = exercise_cells(NUMBERED[number])
    namespace = dict(notebook_namespaces[number])
    code = [cell.source for cell in cells[start:end] if cell.cell_type == "code"]
    for source in code:
        exec(source, namespace)
    out = capsys.readouterr().out
    asked = out.count("Replace ____ with your answer, then run this cell again.") + out.count("Not yet.")
    assert asked == len(code) - 1, out


@pytest.mark.parametrize("number", sorted(NUMBERED), ids=lambda n: NUMBERED[n].stem)
def test_the_notebook_ends_with_a_recap_of_three_to_five_points_then_whats_next(number):
    cells = nbformat.read(NUMBERED[number], as_version=4).cells
    recap, whats_next = cells[-2], cells[-1]
    assert recap.cell_type == "markdown" and recap.source.startswith("## Recap\n")
    points = [line for line in recap.source.splitlines() if line.startswith("- ")]
    assert 3 <= len(points) <= 5, points
    assert whats_next.source.startswith("## What's next")


@pytest.mark.parametrize("number", sorted(NUMBERED), ids=lambda n: NUMBERED[n].stem)
def test_the_notebook_has_an_exercise_that_asks_for_code(number):
    cells, start, end = exercise_cells(NUMBERED[number])
    group = exercises.EXERCISE_SETS[f"nb{number}"]
    code = [c.source for c in cells[start:end] if c.cell_type == "code"][1:]
    assert any(is_code_exercise(exercise, source) for exercise, source in zip(group, code, strict=True))
