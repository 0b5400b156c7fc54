"""Exercises with checkers for the core notebooks 00-05, in the manner of Kaggle Learn.

Each notebook ends with two or three exercises, one group per notebook::

    from course_utils.exercises import ____, nb03

    answer = ____  # your answer here
    nb03.q1.check(answer)

``check`` prints a verdict, with the reason when an answer is wrong, and returns True or False (None while the
answer is still the blank ``____``). ``hint()`` and ``solution()`` return text that Jupyter shows as Markdown.
Where the right answer depends on the run (the most confused digits, the best epoch), ``check`` takes what it
needs from the notebook and works the truth out there: nothing a run produces is stored here.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "____",
    "ContextError",
    "Exercise",
    "ExerciseSet",
    "ExerciseText",
    "nb00",
    "nb01",
    "nb02",
    "nb03",
    "nb04",
    "nb05",
]


# --- the machinery ------------------------------------------------------------------------------------------


class _Placeholder:
    """The blank ``____`` a learner replaces with an answer; a check treats it as "not answered yet"."""

    _instance: _Placeholder | None = None

    def __new__(cls) -> _Placeholder:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "____"


____ = _Placeholder()

PLACEHOLDER_MESSAGE = "Replace ____ with your answer, then run this cell again."


class ExerciseText(str):
    """A hint or a solution: a plain string that Jupyter renders as Markdown (code blocks included)."""

    def _repr_markdown_(self) -> str:
        return str(self)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


class AnswerError(ValueError):
    """An answer of the wrong kind; the message says what is expected."""


class ContextError(TypeError):
    """What the notebook passed to ``check`` alongside the answer is not what the check needs."""


@dataclass(frozen=True)
class Verdict:
    """Whether an answer is right, and what to tell the learner about it."""

    correct: bool
    message: str


def _right(message: str) -> Verdict:
    return Verdict(True, message)


def _wrong(message: str) -> Verdict:
    return Verdict(False, message)


def _holds_placeholder(answer) -> bool:
    if answer is ____:
        return True
    if isinstance(answer, (tuple, list, set, frozenset)):
        return any(item is ____ for item in answer)
    return False


class Exercise:
    """One exercise: ``check(answer, ...)`` judges an answer, ``hint()`` nudges, ``solution()`` tells all.

    ``checker(answer, ...)`` returns a ``Verdict`` or raises ``AnswerError``; ``usage`` is how the notebook
    calls ``check``, shown when it is called with the wrong arguments.
    """

    def __init__(
        self,
        title: str,
        task: str,
        checker: Callable[..., Verdict],
        hint: str,
        solution: str,
        usage: str = "check(answer)",
        choices: Mapping[str, str] | None = None,
    ) -> None:
        self.title = title
        self.task = task
        self.usage = usage
        self.choices = dict(choices or {})
        self.name = "exercise"  # ExerciseSet names it, e.g. "nb03.q1"
        self._checker = checker
        self._hint = hint
        self._solution = solution

    def check(self, answer, *context, **named) -> bool | None:
        """Print whether ``answer`` is right (and why not) and return True or False; None for the blank."""
        if _holds_placeholder(answer):
            print(PLACEHOLDER_MESSAGE)
            return None
        try:
            inspect.signature(self._checker).bind(answer, *context, **named)
        except TypeError:
            raise TypeError(f"call it as {self.name}.{self.usage}") from None
        try:
            verdict = self._checker(answer, *context, **named)
        except AnswerError as problem:
            verdict = _wrong(str(problem))
        except ContextError as problem:
            raise ContextError(f"{problem}; call it as {self.name}.{self.usage}") from None
        if verdict.correct:
            print(f"Correct! {verdict.message}")
        else:
            print(f"Not yet. {verdict.message}\nStuck? {self.name}.hint() gives a nudge.")
        return verdict.correct

    def hint(self) -> ExerciseText:
        """A nudge towards the answer, without giving it away."""
        return ExerciseText(f"**Hint:** {self._hint}")

    def solution(self) -> ExerciseText:
        """The answer, worked out (or the code that works it out, where it depends on the run)."""
        return ExerciseText(f"**Solution:** {self._solution}")

    def __repr__(self) -> str:
        return f"<{self.name}: {self.title}>"


class ExerciseSet:
    """The exercises of one notebook, as attributes ``q1``, ``q2``, ... in order."""

    def __init__(self, name: str, notebook: str, *exercises: Exercise) -> None:
        self.name = name
        self.notebook = notebook
        self._exercises = list(exercises)
        for number, exercise in enumerate(exercises, start=1):
            exercise.name = f"{name}.q{number}"
            setattr(self, f"q{number}", exercise)

    def __iter__(self):
        return iter(self._exercises)

    def __len__(self) -> int:
        return len(self._exercises)

    def __repr__(self) -> str:
        lines = [f"{self.name}: the exercises of {self.notebook}"]
        lines += [f"  {exercise.name}: {exercise.title}" for exercise in self._exercises]
        return "\n".join(lines)


# --- reading answers ----------------------------------------------------------------------------------------


def _describe(value) -> str:
    """A learner-friendly description of what they passed, for "expected X, got Y" messages."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}"
    if isinstance(value, (bool, np.bool_)):
        return f"{value}, a True/False value"
    if isinstance(value, Mapping):
        return "a dict"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{value!r} (a {type(value).__name__})"


def _as_number(answer, what: str = "a number") -> float:
    """A real number from an int, a float, a NumPy scalar, or a 0-d array or tensor."""
    if hasattr(answer, "__array__") and not isinstance(answer, numbers.Number) and np.ndim(answer) == 0:
        answer = np.asarray(answer).item()  # a 0-d NumPy array, or a scalar tensor from keras.ops
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, numbers.Real):
        if isinstance(answer, str):
            raise AnswerError(f"Expected {what}, got {_describe(answer)}: write the number without quotes.")
        raise AnswerError(f"Expected {what}, got {_describe(answer)}.")
    return float(answer)


def _as_whole_number(answer, what: str = "a whole number") -> int:
    """An int from an int, a NumPy integer, or a float with nothing after the point (416.0)."""
    value = _as_number(answer, what)
    if not value.is_integer():
        raise AnswerError(f"Expected {what}; {value:g} is not whole.")
    return int(value)


def _as_shape(answer) -> tuple:
    """A shape as a tuple, from a tuple, a list, a 1-D integer array or a TensorShape; None stays None."""
    if hasattr(answer, "as_list") and not isinstance(answer, np.ndarray):
        answer = answer.as_list()  # tf.TensorShape
    if isinstance(answer, np.ndarray):
        if answer.ndim != 1 or not np.issubdtype(answer.dtype, np.integer):
            raise AnswerError(
                f"Expected a shape, a tuple of whole numbers such as (28, 28, 1); got {_describe(answer)}. "
                "An array's shape is its .shape attribute."
            )
        answer = answer.tolist()
    if not isinstance(answer, (tuple, list)):
        hint = ": write it without quotes" if isinstance(answer, str) else ""
        raise AnswerError(
            f"Expected a shape, a tuple of whole numbers such as (28, 28, 1); got {_describe(answer)}{hint}."
        )
    shape = []
    for item in answer:
        if item is None:
            shape.append(None)
        elif isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise AnswerError(
                f"Expected a shape made of whole numbers, such as (28, 28, 1); {item!r} in it is not one."
            )
        else:
            shape.append(int(item))
    return tuple(shape)


def _as_class(answer, num_classes: int, class_names: Sequence[str] | None = None) -> int:
    """A class number in 0..num_classes-1, from a number or (when names are given) a class name."""
    if isinstance(answer, str) and class_names is not None and answer.strip() in class_names:
        return list(class_names).index(answer.strip())
    value = _as_whole_number(answer, "a class number such as 3")
    if not 0 <= value < num_classes:
        raise AnswerError(f"The classes are numbered 0 to {num_classes - 1}; {value} is not one of them.")
    return value


def _as_pair(answer, num_classes: int) -> tuple[int, int]:
    """Two class numbers from a tuple, list, set or array of two; the order is kept for messages only."""
    if isinstance(answer, np.ndarray):
        answer = answer.ravel().tolist()
    if isinstance(answer, (set, frozenset)) and len(answer) == 1:
        (only,) = answer
        answer = (only, only)
    if not isinstance(answer, (tuple, list, set, frozenset)) or len(answer) != 2:
        raise AnswerError(f"Expected two class numbers, such as (4, 9); got {_describe(answer)}.")
    items = list(answer) if isinstance(answer, (tuple, list)) else sorted(answer, key=str)
    first, second = (_as_class(item, num_classes) for item in items)
    return first, second


def _as_choice(answer, choices: Mapping[str, Iterable[str]], what: str) -> str:
    """The key of ``choices`` whose spellings include ``answer`` (case and spaces ignored)."""
    if not isinstance(answer, str):
        raise AnswerError(f"Expected {what} as text in quotes; got {_describe(answer)}.")
    said = answer.strip().lower()
    for key, spellings in choices.items():
        if said in {s.lower() for s in spellings}:
            return key
    raise AnswerError(f"Expected {what}; got {answer!r}.")


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance


# --- what the notebooks pass in -----------------------------------------------------------------------------


def _labels(values, what: str) -> np.ndarray:
    """Integer class labels as a 1-D array, or a TypeError that names the argument."""
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ContextError(f"{what} should be a 1-D array of integer labels, got {_describe(array)}")
    if array.min() < 0:
        raise ContextError(f"{what} holds negative labels")
    return array.astype(np.int64)


def _images(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim < 2 or not np.issubdtype(array.dtype, np.number):
        raise ContextError(f"{what} should be an array of images, got {_describe(array)}")
    return array


def _history(history) -> dict[str, list[float]]:
    """The per-epoch figures from a Keras ``History`` or its ``.history`` dict."""
    figures = getattr(history, "history", history)
    if not isinstance(figures, Mapping) or not all(k in figures for k in ("accuracy", "val_accuracy")):
        raise ContextError(
            "pass fit's history (history.history), from a fit with validation_data and the accuracy metric"
        )
    return {key: [float(v) for v in values] for key, values in figures.items()}


def _confusion(y_true, y_pred) -> np.ndarray:
    """The confusion matrix (rows true, columns predicted) over every class either array mentions."""
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ContextError(f"y_true and y_pred differ in length ({y_true.size} and {y_pred.size})")
    num_classes = int(max(y_true.max(), y_pred.max())) + 1
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))


def _class_label(index: int, class_names: Sequence[str] | None) -> str:
    if class_names is None or class_names[index] == str(index):
        return str(index)
    return f"{index} ({class_names[index]})"


# --- 00 · the environment ----------------------------------------------------------------------------------


def _device_kind(answer) -> str:
    if hasattr(answer, "device_type"):  # a tf.config.PhysicalDevice
        return str(answer.device_type).upper()
    if not isinstance(answer, str):
        raise AnswerError(f"Expected the device as text, 'CPU' or 'GPU'; got {_describe(answer)}.")
    kind = answer.strip().upper()
    for prefix in ("/PHYSICAL_DEVICE:", "/DEVICE:"):
        kind = kind.removeprefix(prefix)
    kind = kind.split(":")[0]
    if kind not in ("CPU", "GPU"):
        raise AnswerError(f"Expected 'CPU' or 'GPU'; got {answer!r}.")
    return kind


def _check_training_device(answer, gpus) -> Verdict:
    if gpus is None or isinstance(gpus, (str, bytes)) or not isinstance(gpus, Iterable):
        raise ContextError("pass the list setup_gpu() returned")
    names = [str(getattr(gpu, "name", gpu)) for gpu in gpus]
    kind = _device_kind(answer)
    if names:
        if kind == "GPU":
            return _right(
                f"TensorFlow sees {len(names)} GPU(s) ({', '.join(names)}) and runs the model's arithmetic "
                "on the first one, GPU:0; the CPU prepares the batches."
            )
        return _wrong(
            f"setup_gpu() found {len(names)} GPU(s) here ({', '.join(names)}). When a GPU is visible, "
            "TensorFlow places the model's operations on it by default; the CPU only feeds it data."
        )
    if kind == "CPU":
        return _right(
            "setup_gpu() found no GPU (it returned an empty list), so TensorFlow trains on the CPU. The "
            "course is sized for that."
        )
    return _wrong(
        "setup_gpu() returned an empty list: TensorFlow sees no GPU on this machine (or no working driver "
        "for one), so there is only one device it can train on."
    )


SEED_CHOICES = {
    "a": "Every computer gives exactly the same weights and the same accuracy.",
    "b": "Re-running the notebook on the same machine, with the same library versions, gives the same "
    "random numbers: the same starting weights, the same order of images, so the same results.",
    "c": "Training runs faster.",
    "d": "The model reaches a higher accuracy.",
}


def _check_seed_guarantee(answer) -> Verdict:
    letter = _as_choice(answer, {k: (k, f"{k}.", f"({k})") for k in SEED_CHOICES}, "one letter, 'a' to 'd'")
    reasons = {
        "b": "A seed fixes every random choice (starting weights, shuffling), and deterministic kernels "
        "fix the order of the arithmetic, so the same setup repeats a run exactly.",
        "a": "Not across machines: a CPU and a GPU, or two versions of TensorFlow, can round differently, "
        "so their numbers can drift apart. The promise holds for the same machine and the same versions.",
        "c": "A seed decides which random numbers come out, not how fast anything runs (deterministic "
        "kernels can even be a little slower on a GPU).",
        "d": "A seed does not make the model better: it picks one particular random start. Another seed "
        "gives a different run, not a worse one.",
    }
    return Verdict(letter == "b", reasons[letter])


def _check_log_level(answer) -> Verdict:
    note = ""
    if isinstance(answer, str) and answer.strip() in {"0", "1", "2", "3"}:
        level = int(answer.strip())
    else:
        level = _as_whole_number(answer, "a level, a whole number from 0 to 3")
        note = f" (In os.environ it is written as the text '{level}'.)"
    reasons = {
        0: "0 shows everything, the info messages included.",
        2: "2 hides the warnings as well as the info messages: only errors get through.",
        3: "3 is what course_utils sets: it hides everything short of a fatal error, warnings included.",
    }
    if level == 1:
        return _right("1 hides the info messages and keeps the warnings and errors." + note)
    return _wrong(
        reasons.get(level, f"The levels run from 0 (show all) to 3 (fatal only); {level} is not one.")
    )


nb00 = ExerciseSet(
    "nb00",
    "00_environment.ipynb",
    Exercise(
        "Which device trains?",
        "On this machine, which device would TensorFlow train the model on: `'CPU'` or `'GPU'`?",
        _check_training_device,
        hint="Look at what `setup_gpu()` returned (the `gpus` list above). TensorFlow uses a GPU whenever "
        "one is visible, and the CPU otherwise.",
        solution="`answer = 'GPU' if gpus else 'CPU'`: the GPU if the `gpus` list above is not empty, "
        "otherwise the CPU. Every machine has a CPU; a GPU appears only with a GPU build of TensorFlow "
        "and a working driver.",
        usage="check(answer, gpus)",
    ),
    Exercise(
        "What does a seed guarantee?",
        "What does `set_seed(params.seed)` guarantee? Answer with one letter.",
        _check_seed_guarantee,
        hint="A seed fixes the *random* choices. Which of the four is about randomness, and how far does "
        "the promise reach: this machine, or every machine?",
        solution="`answer = 'b'`. Seeding fixes the random numbers (starting weights, the order of the "
        "images), so the same machine with the same versions repeats a run exactly. Other hardware or "
        "versions can round differently, and a seed neither speeds training up nor makes the model better.",
        choices=SEED_CHOICES,
    ),
    Exercise(
        "A quieter log",
        "`TF_CPP_MIN_LOG_LEVEL` goes from 0 to 3. Which value hides TensorFlow's info messages but still "
        "shows its warnings and errors?",
        _check_log_level,
        hint="Each level hides one more kind of message than the one before: first info, then warnings, "
        "then errors. The notebook's text above lists them.",
        solution="`answer = 1`: 0 shows everything, 1 hides info, 2 also hides warnings, 3 also hides "
        "errors (the course uses 3). As an environment variable it is text: "
        "`os.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'`, set before TensorFlow is imported.",
    ),
)


# --- 01 · the data ----------------------------------------------------------------------------------------

DIGIT_TO_COUNT = 7


def _check_class_count(answer, train_labels) -> Verdict:
    labels = _labels(train_labels, "train_labels")
    counts = np.bincount(labels, minlength=DIGIT_TO_COUNT + 1)
    truth = int(counts[DIGIT_TO_COUNT])
    if isinstance(answer, Mapping) or (isinstance(answer, np.ndarray) and answer.size == counts.size > 1):
        return _wrong("You gave the count of every digit; the question wants one of them, the 7s.")
    if isinstance(answer, np.ndarray) and answer.size == labels.size > 1:
        return _wrong(
            "That is one value per image (a True/False mask, or the labels themselves). Count the 7s: add "
            "the mask up with .sum()."
        )
    count = _as_whole_number(answer, "a count, a whole number")
    if count == truth:
        return _right(
            f"There are {truth:,} training images of a 7, {truth / labels.size:.1%} of the training set."
        )
    if count == labels.size:
        return _wrong(f"{count:,} is every training image; count only those labelled 7.")
    others = [str(digit) for digit, n in enumerate(counts) if n == count and digit != DIGIT_TO_COUNT]
    if others:
        return _wrong(
            f"{count:,} is the number of {' and '.join(others)}s; the question is about the digit 7."
        )
    direction = "too many" if count > truth else "too few"
    return _wrong(f"{count:,} is {direction}: it is not the number of labels equal to 7 in train_labels.")


RAW_PIXEL = 51


def _check_scaled_pixel(answer) -> Verdict:
    value = _as_number(answer, "a number such as 0.5")
    truth = RAW_PIXEL / 255
    if _close(value, truth, 1e-4):
        return _right(
            "51 / 255 = 0.2. Every pixel is divided by 255, the largest raw value, so 0 stays 0 and 255 "
            "becomes exactly 1.0."
        )
    known = [
        (RAW_PIXEL, "51 is the raw value, before scaling. The scaling step divides every pixel by 255."),
        (
            RAW_PIXEL / 256,
            "You divided by 256, the number of possible values. The largest value is 255: dividing by 255 "
            "maps it to exactly 1.0.",
        ),
        (1 - truth, "That is 1 - 51/255: scaling does not invert the picture, dark stays dark."),
        (RAW_PIXEL / 127.5 - 1, "That maps pixels to [-1, 1]; the course scales them to [0, 1]."),
        (RAW_PIXEL * 255, "You multiplied by 255; the scaling divides."),
    ]
    for value_of_mistake, reason in known:
        if _close(value, value_of_mistake, 1e-4):
            return _wrong(reason)
    if not 0 <= value <= 1:
        return _wrong(f"After scaling every pixel lies between 0 and 1; {value:g} does not.")
    return _wrong(f"{value:g} is not the raw value divided by 255.")


def _check_reshaped_shape(answer, test_images) -> Verdict:
    n = len(_images(test_images, "test_images"))
    shape = _as_shape(answer)
    truth = (n, 28, 28, 1)
    if shape == truth:
        return _right(
            f"{truth}: {n:,} images of 28 rows, 28 columns and 1 channel (samples, height, width, channels)."
        )
    reasons = {
        (
            n,
            28,
            28,
        ): "That is the shape before the reshape: the channel axis (1, for grey) is missing at the end.",
        (28, 28, 1): "That is one image's shape. test_images holds many; the first axis counts them.",
        (n, 1, 28, 28): "That puts the channels first. Keras, and this course, put them last: (samples, "
        "height, width, channels).",
        (
            n,
            784,
        ): "That is each image flattened into one row of 784 values; reshape(-1, 28, 28, 1) keeps the grid.",
        (
            -1,
            28,
            28,
            1,
        ): "-1 is what you write in reshape to let NumPy work the number out; the shape holds the actual "
        "number of test images.",
        (
            None,
            28,
            28,
            1,
        ): "None stands for 'any number of images' in a model summary; the array has a definite number of "
        "test images.",
    }
    if shape in reasons:
        return _wrong(reasons[shape])
    if shape[1:] == (28, 28, 1) and len(shape) == 4:
        return _wrong(
            f"The last three are right. The first counts the test images, and there are not {shape[0]:,}."
        )
    return _wrong(f"{shape} is not it: think (samples, height, width, channels).")


nb01 = ExerciseSet(
    "nb01",
    "01_data.ipynb",
    Exercise(
        "Count the 7s",
        "How many training images show the digit 7? Compute it from `train_labels` with NumPy.",
        _check_class_count,
        hint="`train_labels == 7` is a True/False array, one per image. What does `.sum()` do to it? "
        "(`np.bincount` above counts every digit at once, too.)",
        solution="`answer = int((train_labels == 7).sum())`, or `np.bincount(train_labels)[7]`. The "
        "number depends on the data: 400 on the offline sample, 6,265 on full MNIST.",
        usage="check(answer, train_labels)",
    ),
    Exercise(
        "The scaling step",
        "A pixel's raw value is 51. What is its value after the scaling step of this notebook?",
        _check_scaled_pixel,
        hint="The scaling step divides by one number, chosen so that the brightest possible pixel becomes "
        "1.0.",
        solution="`answer = 51 / 255`, which is 0.2. Dividing by 255 maps the raw range 0..255 onto 0..1.",
    ),
    Exercise(
        "The shape after the reshape",
        "What is the shape of `test_images` now, after `reshape(-1, 28, 28, 1)`? Write it as a tuple, "
        "working it out from what you know rather than printing it.",
        _check_reshaped_shape,
        hint="The reshape keeps the number of images (that is what `-1` asks for) and gives each one "
        "(height, width, channels).",
        solution="`answer = (len(test_images), 28, 28, 1)`: 1,000 images on the offline sample, 10,000 on "
        "full MNIST, each 28 x 28 with 1 channel. `test_images.shape` confirms it.",
        usage="check(answer, test_images)",
    ),
)


# --- 02 · looking at the data -----------------------------------------------------------------------------


def _check_mean_pixel(answer, images) -> Verdict:
    pixels = _images(images, "images")
    truth = float(np.mean(pixels, dtype=np.float64))
    value = _as_number(answer, "a number such as 0.5")
    tolerance = 5e-4  # an answer rounded to three decimals is right
    if _close(value, truth, tolerance):
        return _right(
            f"The mean pixel value is {truth:.3f}. It is low because most of every image is black "
            "background (0); the strokes, near 1, cover a small part."
        )
    if pixels.max() <= 1 and _close(value, truth * 255, 255 * tolerance):
        return _wrong("That is on the 0-255 scale of the raw bytes; data.x_train is scaled to [0, 1].")
    if _close(value, float(np.mean(pixels[0], dtype=np.float64)), tolerance):
        return _wrong(
            "That is the mean of the first image only; average over every image of the training set."
        )
    if value == float(pixels.max()):
        return _wrong("That is the largest pixel value, not the mean.")
    if value == 0:
        return _wrong(
            "0 is the most common pixel value (the background), but the ink pulls the mean above 0."
        )
    direction = "high" if value > truth else "low"
    return _wrong(f"{value:g} is too {direction} for the mean of all the training set's pixels.")


def _check_brightest_class(answer, images, labels, class_names=None) -> Verdict:
    pixels = _images(images, "images")
    labels = _labels(labels, "labels")
    if len(pixels) != len(labels):
        raise ContextError(f"images and labels differ in length ({len(pixels)} and {len(labels)})")
    num_classes = max(len(class_names) if class_names is not None else 0, int(labels.max()) + 1)
    per_image = pixels.reshape(len(pixels), -1).mean(axis=1, dtype=np.float64)
    counts = np.bincount(labels, minlength=num_classes)
    means = np.bincount(labels, weights=per_image, minlength=num_classes) / np.maximum(counts, 1)
    means[counts == 0] = np.nan
    chosen = _as_class(answer, num_classes, class_names)
    brightest, darkest = int(np.nanargmax(means)), int(np.nanargmin(means))
    if np.isclose(means[chosen], means[brightest], rtol=0, atol=1e-12):
        return _right(
            f"Class {_class_label(chosen, class_names)} has the brightest mean image (mean pixel "
            f"{means[chosen]:.3f}); the darkest is {_class_label(darkest, class_names)} "
            f"({means[darkest]:.3f}). More ink, brighter mean."
        )
    if np.isclose(means[chosen], means[darkest], rtol=0, atol=1e-12):
        return _wrong(
            f"Class {_class_label(chosen, class_names)} is the *darkest* (mean pixel {means[chosen]:.3f}): "
            "its strokes cover the fewest pixels. Look for the class with the most ink."
        )
    brighter = int(np.sum(means > means[chosen]))
    return _wrong(
        f"The mean image of class {_class_label(chosen, class_names)} has mean pixel {means[chosen]:.3f}; "
        f"{brighter} class(es) are brighter."
    )


nb02 = ExerciseSet(
    "nb02",
    "02_visualization.ipynb",
    Exercise(
        "The mean pixel value",
        "What is the mean pixel value of the whole training set, `data.x_train`? Round to three decimals.",
        _check_mean_pixel,
        hint="NumPy's `np.mean` averages every value of an array, whatever its shape.",
        solution="`answer = float(data.x_train.mean())`: about 0.13 on MNIST. Most pixels are background "
        "(0), so the mean is far below the ink's brightness.",
        usage="check(answer, data.x_train)",
    ),
    Exercise(
        "The brightest class",
        "Whose mean image is brightest, that is, which class has the highest mean pixel value? Look at "
        "the mean images above, then answer with the class number.",
        _check_brightest_class,
        hint="A brighter mean image means more ink per image on average. Which digit's strokes cover the "
        "most pixels? To compute it: `data.x_train[data.y_train == c].mean()` for each class `c`.",
        solution="Compute the mean pixel of each class and take the largest:\n\n"
        "```python\n"
        "import numpy as np\n\n"
        "means = [data.x_train[data.y_train == c].mean() for c in range(data.num_classes)]\n"
        "answer = int(np.argmax(means))\n"
        "```\n\n"
        "On MNIST it is 0 (a long closed loop); the darkest is 1 (a single stroke).",
        usage="check(answer, data.x_train, data.y_train, data.class_names)",
    ),
)


# --- 03 · anatomy of the model ------------------------------------------------------------------------------


def _check_conv_parameters(answer) -> Verdict:
    count = _as_whole_number(answer, "a parameter count, a whole number")
    if count == (5 * 5 * 1 + 1) * 16:
        return _right("(5 x 5 x 1 weights + 1 bias) x 16 filters = 416.")
    reasons = {
        5 * 5 * 1 * 16: "You counted the weights (400) but not the 16 biases: each filter has one.",
        5 * 5 * 16 + 1: "One bias per filter, not one for the whole layer: 16 biases.",
        5 * 5 + 1: "That is one filter; the layer has 16.",
        5 * 5: "That is the weights of one filter; the layer has 16 filters, each with a bias too.",
        320: "That is conv1's count above (32 filters of 3 x 3); redo it for 16 filters of 5 x 5.",
        (3 * 3 + 1) * 16: "You used a 3 x 3 filter; this one is 5 x 5.",
        24
        * 24
        * 16: "That is how many numbers the layer outputs (24 x 24 x 16). Parameters do not depend on the "
        "image size: each filter is reused at every position.",
    }
    return _wrong(
        reasons.get(
            count, "Count each filter's weights (5 x 5 x input channels), add its bias, times 16 filters."
        )
    )


def _check_conv_pool_shape(answer) -> Verdict:
    shape = _as_shape(answer)
    if shape[:1] == (None,):
        shape = shape[1:]
    if shape == (12, 12, 16):
        return _right("28 - 5 + 1 = 24, pooled 2 x 2 to 12; 16 filters give 16 channels: (12, 12, 16).")
    reasons = {
        (24, 24, 16): "That is the shape before pooling: 2 x 2 pooling halves the height and the width.",
        (28, 28, 16): "That is what padding='same' would give before pooling. Without padding a 5 x 5 "
        "filter loses 2 pixels on every side, and the pooling halves what is left.",
        (14, 14, 16): "Pooling halves, right, but the convolution first shrinks 28 to 24.",
        (
            26,
            26,
            16,
        ): "That is a 3 x 3 filter's shrinking (1 pixel per side); a 5 x 5 filter loses 2 per side.",
        (13, 13, 16): "That is a 3 x 3 filter then pooling; a 5 x 5 filter loses 2 pixels per side, not 1.",
        (12, 12): "Height and width are right; the channels axis is missing.",
    }
    if shape in reasons:
        return _wrong(reasons[shape])
    if len(shape) == 3 and shape[:2] == (12, 12):
        return _wrong(
            f"Height and width are right. The channels: one per filter, and there are 16, not {shape[2]}."
        )
    if len(shape) == 4 and shape[1:] == (12, 12, 16):
        return _wrong("Leave out the batch axis: give (height, width, channels) for one image.")
    return _wrong(f"{shape} is not it. Work it out in two steps: the convolution, then the pooling.")


def _check_dense_without_pooling(answer) -> Verdict:
    count = _as_whole_number(answer, "a parameter count, a whole number")
    flat = 11 * 11 * 64
    if count == (flat + 1) * 64:
        return _right(
            "Without pool2 the dense layer sees all of conv2's 11 x 11 x 64 = 7,744 values: (7,744 + 1) x "
            "64 = 495,680, almost five times the lesson's 102,464. Pooling keeps the model small."
        )
    reasons = {
        (5 * 5 * 64 + 1)
        * 64: "That is the dense layer *with* pool2 (5 x 5 x 64 inputs). Without pool2 it sees conv2's "
        "output directly.",
        flat * 64: "You counted the weights but not the 64 biases.",
        flat: "That is the length of the flattened vector (the dense layer's inputs). Each of the 64 "
        "units has one weight per input, plus a bias.",
        flat + 1: "That is one unit; the dense layer has 64.",
        (13 * 13 * 64 + 1)
        * 64: "That uses 13 x 13: conv2 still shrinks pool1's 13 x 13 to 11 x 11 before the flatten.",
        320
        + 18_496
        + (flat + 1) * 64
        + 650: "That is the whole model; the question asks for the dense layer alone.",
    }
    return _wrong(
        reasons.get(
            count, "Find conv2's output shape, flatten it (multiply out), then (inputs + 1) x 64 units."
        )
    )


nb03 = ExerciseSet(
    "nb03",
    "03_model_anatomy.ipynb",
    Exercise(
        "Parameters of a bigger filter",
        "Suppose the first layer were `layers.Conv2D(16, (5, 5))` on the (28, 28, 1) input. How many "
        "parameters would it have?",
        _check_conv_parameters,
        hint="Each filter has one weight per value it looks at (5 x 5 x 1 channel) and one bias. How many "
        "filters are there?",
        solution="`answer = (5 * 5 * 1 + 1) * 16`, which is 416. Check it with Keras: "
        "`keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5))]).count_params()`.",
    ),
    Exercise(
        "A shape after a change",
        "What is the output shape (height, width, channels) of that `Conv2D(16, (5, 5))` on a (28, 28, 1) "
        "image, followed by `MaxPooling2D((2, 2))`? As in the lesson there is no padding, and the filter "
        "moves one pixel at a time (stride 1).",
        _check_conv_pool_shape,
        hint="A 5 x 5 filter without padding cannot centre on the two outermost pixels of each side. Then "
        "pooling halves, rounding down. The number of channels is the number of filters.",
        solution="`answer = (12, 12, 16)`: 28 - 5 + 1 = 24, halved to 12, with 16 channels. Check it: "
        "`keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5)), layers.MaxPooling2D((2, "
        "2))]).output_shape`.",
    ),
    Exercise(
        "Why pool?",
        "Remove `pool2` from the lesson's model. How many parameters does the `dense` layer (64 units) "
        "have now?",
        _check_dense_without_pooling,
        hint="Without pool2, Flatten receives conv2's output, which is (11, 11, 64). A dense unit has one "
        "weight per input plus one bias.",
        solution="`answer = (11 * 11 * 64 + 1) * 64`, which is 495,680: nearly five times as many as with "
        "pool2 (102,464), because the dense layer's inputs grow from 1,600 to 7,744.",
    ),
)


# --- 04 · compile and fit ---------------------------------------------------------------------------------

NEW_BATCH_SIZE = 128


def _check_steps_per_epoch(answer, num_train) -> Verdict:
    if (
        isinstance(num_train, (bool, np.bool_))
        or not isinstance(num_train, numbers.Integral)
        or num_train < 1
    ):
        raise ContextError(f"num_train should be the number of training images, got {_describe(num_train)}")
    n = int(num_train)
    truth = math.ceil(n / NEW_BATCH_SIZE)
    value = _as_number(answer, "a number of steps, a whole number")
    if not value.is_integer():
        if _close(value, n / NEW_BATCH_SIZE, 1e-6):
            return _wrong(
                f"{n:,} / 128 = {value:g} is not whole: the images left over form one more, smaller batch, "
                "and that is one more step. Round up."
            )
        return _wrong(f"A number of steps is whole; {value:g} is not.")
    steps = int(value)
    if steps == truth:
        rest = n % NEW_BATCH_SIZE
        split = f" ({n // NEW_BATCH_SIZE} full batches and one of {rest})" if rest else ""
        return _right(f"ceil({n:,} / 128) = {truth} weight updates per epoch{split}.")
    if steps == n // NEW_BATCH_SIZE:
        return _wrong(
            f"That counts the full batches only; the {n % NEW_BATCH_SIZE} images left over make one more "
            "batch, and one more step."
        )
    if steps == math.ceil(n / 32):
        return _wrong(
            "That is the count at batch_size=32, the lesson's default (fit's log shows it as "
            "'steps/steps'). With 128 images per batch there are four times fewer steps."
        )
    if steps == n:
        return _wrong("That is the number of images; the weights change once per batch, not once per image.")
    if steps == NEW_BATCH_SIZE:
        return _wrong("128 is the batch size, images per step, not the number of steps.")
    return _wrong(f"{steps:,} is not it: how many batches of 128 does it take to cover {n:,} images?")


def _check_best_epoch(answer, history) -> Verdict:
    figures = _history(history)
    val = np.asarray(figures["val_accuracy"])
    epochs = len(val)
    best = set((np.flatnonzero(val == val.max()) + 1).tolist())
    epoch = _as_whole_number(answer, "an epoch number, a whole number")
    if epoch in best:
        return _right(
            f"Validation accuracy peaked at {val.max():.2%} in epoch {epoch} of {epochs}. "
            + ("Training longer did not help after that." if epoch < epochs else "It was still rising.")
        )
    if epoch + 1 in best:
        return _wrong("Keras counts epochs from 1 ('Epoch 1/...'); you gave the 0-based list index.")
    if not 1 <= epoch <= epochs:
        return _wrong(f"This run had epochs 1 to {epochs}.")
    train = np.asarray(figures["accuracy"])
    if train[epoch - 1] == train.max():
        return _wrong(
            "That is where the *training* accuracy ('accuracy') peaked; the question is about validation "
            "('val_accuracy')."
        )
    if "val_loss" in figures and epoch - 1 == int(np.argmin(figures["val_loss"])):
        return _wrong(
            "That is the epoch with the lowest validation *loss*; loss and accuracy do not always peak "
            "together. Look at val_accuracy."
        )
    return _wrong(f"In epoch {epoch} validation accuracy was {val[epoch - 1]:.2%}; another epoch was higher.")


def _check_train_vs_validation(answer, history) -> Verdict:
    figures = _history(history)
    train, val = figures["accuracy"][-1], figures["val_accuracy"][-1]
    said = _as_choice(
        answer,
        {"training": ("training", "train", "accuracy"), "validation": ("validation", "val", "val_accuracy")},
        "'training' or 'validation'",
    )
    figures_line = f"training {train:.2%}, validation {val:.2%} in the last epoch"
    if train == val:
        return _right(f"They are equal here ({train:.2%}), so either answer is right.")
    truth = "training" if train > val else "validation"
    if said != truth:
        return _wrong(
            "Look at the last epoch's line in fit's log: 'accuracy' is training, 'val_accuracy' is "
            f"validation ({figures_line})."
        )
    if truth == "training":
        return _right(
            f"{figures_line.capitalize()}. A model does a little better on the images it learns from; a "
            "gap that keeps growing epoch after epoch is overfitting."
        )
    return _right(
        f"{figures_line.capitalize()}. This is common early on: Keras averages training accuracy over the "
        "epoch, while the weights were still improving, and measures validation with the end-of-epoch "
        "weights."
    )


nb04 = ExerciseSet(
    "nb04",
    "04_compile_fit.ipynb",
    Exercise(
        "A bigger batch",
        f"How many weight updates (steps) would one epoch make with `batch_size={NEW_BATCH_SIZE}` on this "
        "notebook's training set?",
        _check_steps_per_epoch,
        hint="One step per batch. Divide the number of training images, `len(data.x_train)`, by 128; what "
        "happens to the images left over?",
        solution="Divide and round up:\n\n"
        "```python\n"
        "import math\n\n"
        "answer = math.ceil(len(data.x_train) / 128)\n"
        "```\n\n"
        "That is 32 on the offline sample (4,000 images) and 469 on full MNIST (60,000). The last batch is "
        "smaller, but it is still a step.",
        usage="check(answer, len(data.x_train))",
    ),
    Exercise(
        "The best epoch",
        "In which epoch (counting from 1, as fit's log does) was the validation accuracy highest?",
        _check_best_epoch,
        hint="`history.history['val_accuracy']` is a list with one value per epoch. Where is its largest "
        "value? Mind that Python counts from 0.",
        solution="Find the position of the largest value and add 1:\n\n"
        "```python\n"
        "import numpy as np\n\n"
        "answer = int(np.argmax(history.history['val_accuracy'])) + 1\n"
        "```\n\n"
        "It depends on the run (with one epoch it is 1).",
        usage="check(answer, history.history)",
    ),
    Exercise(
        "Training or validation?",
        "In the last epoch, which accuracy was higher: `'training'` or `'validation'`?",
        _check_train_vs_validation,
        hint="Compare `history.history['accuracy'][-1]` with `history.history['val_accuracy'][-1]`, or "
        "read the last line of fit's log.",
        solution="Compare the last values of the two lists:\n\n"
        "```python\n"
        "last_train = history.history['accuracy'][-1]\n"
        "last_val = history.history['val_accuracy'][-1]\n"
        "answer = 'training' if last_train > last_val else 'validation'\n"
        "```\n\n"
        "It depends on the run: after many epochs training is usually higher; after one, validation "
        "often is.",
        usage="check(answer, history.history)",
    ),
)


# --- 05 · prediction --------------------------------------------------------------------------------------

SOFTMAX_LOGITS = (3.0, 1.0, 0.0)


def _check_softmax(answer) -> Verdict:
    if isinstance(answer, (list, tuple, np.ndarray)) and np.size(answer) == len(SOFTMAX_LOGITS):
        return _wrong("Expected one number, the probability of the first class; you gave all three.")
    value = _as_number(answer, "a probability, a number between 0 and 1")
    exps = np.exp(SOFTMAX_LOGITS)
    truth = float(exps[0] / exps.sum())
    tolerance = 5e-4
    if _close(value, truth, tolerance):
        return _right(
            f"e^3 / (e^3 + e^1 + e^0) = {truth:.4f}. The largest logit gets most of the probability, but "
            "not all."
        )
    reasons = [
        (3 / 4, "You divided each logit by their sum (3 / 4). Softmax exponentiates first, then divides."),
        (
            1.0,
            "A probability of 1 would mean the other classes get nothing; softmax gives every class a share.",
        ),
        (3.0, "3 is the logit itself, a score; softmax turns it into a probability between 0 and 1."),
        (float(exps[0]), "That is e^3; now divide it by the sum of all three exponentials."),
        (1 / 3, "That is an even split; softmax favours the class with the largest logit."),
    ]
    for mistake, reason in reasons:
        if _close(value, mistake, tolerance):
            return _wrong(reason)
    if not 0 <= value <= 1:
        return _wrong(f"A probability lies between 0 and 1; {value:g} does not.")
    return _wrong(f"{value:g} is not e^3 / (e^3 + e^1 + e^0).")


def _check_confused_pair(answer, y_true, y_pred) -> Verdict:
    matrix = _confusion(y_true, y_pred)
    both = matrix + matrix.T
    np.fill_diagonal(both, 0)
    top = int(both.max())
    a, b = _as_pair(answer, len(matrix))
    if a == b:
        return _wrong(
            f"({a}, {a}) is on the diagonal: the {matrix[a, a]} {a}s the model got right. A confusion "
            "involves two different digits."
        )
    if top == 0:
        return _right("The model made no mistakes at all, so no pair of digits is confused.")
    n = int(both[a, b])
    if n == top:
        tied = [(i, j) for i, j in zip(*np.nonzero(np.triu(both) == top), strict=True) if {i, j} != {a, b}]
        also = f" (tied with {', '.join(f'({i}, {j})' for i, j in tied)})" if tied else ""
        return _right(
            f"{a} and {b} are confused {n} times{also}: {matrix[a, b]} images of {a} were read as {b}, and "
            f"{matrix[b, a]} images of {b} as {a}."
        )
    single = matrix.copy()
    np.fill_diagonal(single, 0)
    if max(matrix[a, b], matrix[b, a]) == single.max():
        return _wrong(
            f"That pair holds the largest single cell, but count both directions: {a} and {b} are confused "
            f"{n} times in all, and another pair more often ({top} times)."
        )
    if n == 0:
        return _wrong(f"The model never confused {a} and {b}: both cells are 0.")
    return _wrong(
        f"{a} and {b} are confused {n} times (both directions); another pair more often ({top} times). "
        "Look for the largest cells off the diagonal."
    )


def _check_most_missed_class(answer, y_true, y_pred) -> Verdict:
    matrix = _confusion(y_true, y_pred)
    per_row = matrix.sum(axis=1)
    missed = per_row - np.diag(matrix)
    wrongly_answered = matrix.sum(axis=0) - np.diag(matrix)
    digit = _as_class(answer, len(matrix))
    if missed.max() == 0:
        return _right("The model made no mistakes at all, so no digit is misread.")
    if missed[digit] == missed.max():
        return _right(
            f"{missed[digit]} of the {per_row[digit]} test images of {digit} were misread "
            f"({missed[digit] / per_row[digit]:.1%}), the most of any digit."
        )
    if wrongly_answered[digit] == wrongly_answered.max():
        return _wrong(
            f"{digit} is the answer the model most often gives wrongly ({wrongly_answered[digit]} times, "
            f"in column {digit}). The mistakes on a true digit lie along its row, not its column."
        )
    rates = missed / np.maximum(per_row, 1)
    if rates[digit] == rates.max():
        return _wrong(
            f"{digit} has the largest *share* misread ({rates[digit]:.1%}), but the question counts "
            f"images: another digit has more misread ({missed.max()} against {missed[digit]})."
        )
    return _wrong(
        f"{missed[digit]} test images of {digit} were misread; another digit has more ({missed.max()}). "
        "Add up each row without its diagonal cell."
    )


nb05 = ExerciseSet(
    "nb05",
    "05_prediction.ipynb",
    Exercise(
        "Softmax by hand",
        "A three-class model outputs the logits `[3.0, 1.0, 0.0]`. What probability does softmax give the "
        "first class? Three decimals are enough.",
        _check_softmax,
        hint="Exponentiate each logit (`np.exp`), then divide the first by the sum of all three.",
        solution="`answer = np.exp(3) / (np.exp(3) + np.exp(1) + np.exp(0))`, about 0.844. Or with Keras: "
        "`keras.ops.softmax(np.array([3.0, 1.0, 0.0]))[0]`.",
    ),
    Exercise(
        "The most confused pair",
        "Which two digits does the model confuse most often, counting both directions (a 4 read as a 9 "
        "and a 9 read as a 4 add up)? Answer with a pair such as `(4, 9)`; the order does not matter.",
        _check_confused_pair,
        hint="In the confusion matrix, cell (i, j) counts the i's read as j. Add cell (i, j) and cell (j, "
        "i) for every pair and find the largest: `cm + cm.T`, ignoring the diagonal.",
        solution="Add the matrix to its transpose, so that each pair counts both directions, blank the "
        "diagonal and find the largest cell:\n\n"
        "```python\n"
        "from sklearn.metrics import confusion_matrix\n\n"
        "cm = confusion_matrix(data.y_test, predictions)\n"
        "both = cm + cm.T\n"
        "np.fill_diagonal(both, 0)\n"
        "answer = np.unravel_index(both.argmax(), both.shape)\n"
        "```\n\n"
        "It depends on the run; 4 and 9, 3 and 5, 7 and 9 are common.",
        usage="check(answer, data.y_test, predictions)",
    ),
    Exercise(
        "The digit misread most",
        "Which true digit has the most test images misclassified (a count, not a share)?",
        _check_most_missed_class,
        hint="Rows are true digits. A row's total minus its diagonal cell is the number of that digit's "
        "images the model got wrong.",
        solution="Count each row's mistakes (its total minus its diagonal cell) and take the largest:\n\n"
        "```python\n"
        "from sklearn.metrics import confusion_matrix\n\n"
        "cm = confusion_matrix(data.y_test, predictions)\n"
        "missed = cm.sum(axis=1) - np.diag(cm)\n"
        "answer = int(np.argmax(missed))\n"
        "```\n\n"
        "It depends on the run.",
        usage="check(answer, data.y_test, predictions)",
    ),
)

EXERCISE_SETS = {s.name: s for s in (nb00, nb01, nb02, nb03, nb04, nb05)}
