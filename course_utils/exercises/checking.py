"""The checking machinery behind every exercise: the blank ``____``, verdicts, and reading answers.

``Exercise.check`` prints a verdict, with the reason when an answer is wrong; the ``as_*`` readers turn a
learner's answer into a number, shape or class, or raise ``AnswerError`` with a plain explanation.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from course_utils.i18n import N_, _

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

PLACEHOLDER_MESSAGE = N_("Replace ____ with your answer, then run this cell again.")


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


def right(message: str) -> Verdict:
    return Verdict(True, message)


def wrong(message: str) -> Verdict:
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
            print(_(PLACEHOLDER_MESSAGE))
            return None
        try:
            inspect.signature(self._checker).bind(answer, *context, **named)
        except TypeError:
            raise TypeError(_("call it as {call}").format(call=f"{self.name}.{self.usage}")) from None
        try:
            verdict = self._checker(answer, *context, **named)
        except AnswerError as problem:
            verdict = wrong(str(problem))
        except ContextError as problem:
            call = f"{self.name}.{self.usage}"
            raise ContextError(_("{problem}; call it as {call}").format(problem=problem, call=call)) from None
        if verdict.correct:
            print(_("Correct! {message}").format(message=verdict.message))
        else:
            print(
                _("Not yet. {message}\nStuck? {name}.hint() gives a nudge.").format(
                    message=verdict.message, name=self.name
                )
            )
        return verdict.correct

    def hint(self) -> ExerciseText:
        """A nudge towards the answer, without giving it away."""
        return ExerciseText(_("**Hint:** {text}").format(text=_(self._hint)))

    def solution(self) -> ExerciseText:
        """The answer, worked out (or the code that works it out, where it depends on the run)."""
        return ExerciseText(_("**Solution:** {text}").format(text=_(self._solution)))

    def __repr__(self) -> str:
        return f"<{self.name}: {_(self.title)}>"


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
        lines = [_("{name}: the exercises of {notebook}").format(name=self.name, notebook=self.notebook)]
        lines += [f"  {exercise.name}: {_(exercise.title)}" for exercise in self._exercises]
        return "\n".join(lines)


# --- reading answers ----------------------------------------------------------------------------------------


def describe(value) -> str:
    """A learner-friendly description of what they passed, for "expected X, got Y" messages."""
    if value is None:
        return "None"
    if isinstance(value, str):
        return _("the text {value}").format(value=repr(value))
    if isinstance(value, np.ndarray):
        return _("a NumPy array of shape {shape}").format(shape=value.shape)
    if isinstance(value, (bool, np.bool_)):
        return _("{value}, a True/False value").format(value=value)
    if isinstance(value, Mapping):
        return _("a dict")
    if isinstance(value, (list, tuple, set, frozenset)):
        return _("a {kind} of {count} items").format(kind=type(value).__name__, count=len(value))
    return _("{value} (a {kind})").format(value=repr(value), kind=type(value).__name__)


def as_number(answer, what: str = N_("a number")) -> float:
    """A real number from an int, a float, a NumPy scalar, or a 0-d array or tensor."""
    if hasattr(answer, "__array__") and not isinstance(answer, numbers.Number) and np.ndim(answer) == 0:
        answer = np.asarray(answer).item()  # a 0-d NumPy array, or a scalar tensor from keras.ops
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, numbers.Real):
        if isinstance(answer, str):
            raise AnswerError(
                _("Expected {what}, got {got}: write the number without quotes.").format(
                    what=_(what), got=describe(answer)
                )
            )
        raise AnswerError(_("Expected {what}, got {got}.").format(what=_(what), got=describe(answer)))
    return float(answer)


def as_whole_number(answer, what: str = N_("a whole number")) -> int:
    """An int from an int, a NumPy integer, or a float with nothing after the point (416.0)."""
    value = as_number(answer, what)
    if not value.is_integer():
        raise AnswerError(_("Expected {what}; {value:g} is not whole.").format(what=_(what), value=value))
    return int(value)


def as_shape(answer) -> tuple:
    """A shape as a tuple, from a tuple, a list, a 1-D integer array or a TensorShape; None stays None."""
    if hasattr(answer, "as_list") and not isinstance(answer, np.ndarray):
        answer = answer.as_list()  # tf.TensorShape
    if isinstance(answer, np.ndarray):
        if answer.ndim != 1 or not np.issubdtype(answer.dtype, np.integer):
            raise AnswerError(
                _(
                    "Expected a shape, a tuple of whole numbers such as (28, 28, 1); got {got}. "
                    "An array's shape is its .shape attribute."
                ).format(got=describe(answer))
            )
        answer = answer.tolist()
    if not isinstance(answer, (tuple, list)):
        if isinstance(answer, str):
            message = _(
                "Expected a shape, a tuple of whole numbers such as (28, 28, 1); got {got}: write it "
                "without quotes."
            )
        else:
            message = _("Expected a shape, a tuple of whole numbers such as (28, 28, 1); got {got}.")
        raise AnswerError(message.format(got=describe(answer)))
    shape = []
    for item in answer:
        if item is None:
            shape.append(None)
        elif isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Integral):
            raise AnswerError(
                _(
                    "Expected a shape made of whole numbers, such as (28, 28, 1); {item} in it is not one."
                ).format(item=repr(item))
            )
        else:
            shape.append(int(item))
    return tuple(shape)


def as_class(answer, num_classes: int, class_names: Sequence[str] | None = None) -> int:
    """A class number in 0..num_classes-1, from a number or (when names are given) a class name."""
    if isinstance(answer, str) and class_names is not None and answer.strip() in class_names:
        return list(class_names).index(answer.strip())
    value = as_whole_number(answer, N_("a class number such as 3"))
    if not 0 <= value < num_classes:
        raise AnswerError(
            _("The classes are numbered 0 to {last}; {value} is not one of them.").format(
                last=num_classes - 1, value=value
            )
        )
    return value


def as_pair(answer, num_classes: int) -> tuple[int, int]:
    """Two class numbers from a tuple, list, set or array of two; the order is kept for messages only."""
    if isinstance(answer, np.ndarray):
        answer = answer.ravel().tolist()
    if isinstance(answer, (set, frozenset)) and len(answer) == 1:
        (only,) = answer
        answer = (only, only)
    if not isinstance(answer, (tuple, list, set, frozenset)) or len(answer) != 2:
        raise AnswerError(
            _("Expected two class numbers, such as (4, 9); got {got}.").format(got=describe(answer))
        )
    items = list(answer) if isinstance(answer, (tuple, list)) else sorted(answer, key=str)
    first, second = (as_class(item, num_classes) for item in items)
    return first, second


def as_choice(answer, choices: Mapping[str, Iterable[str]], what: str) -> str:
    """The key of ``choices`` whose spellings include ``answer`` (case and spaces ignored)."""
    if not isinstance(answer, str):
        raise AnswerError(
            _("Expected {what} as text in quotes; got {got}.").format(what=_(what), got=describe(answer))
        )
    said = answer.strip().lower()
    for key, spellings in choices.items():
        if said in {s.lower() for s in spellings}:
            return key
    raise AnswerError(_("Expected {what}; got {answer}.").format(what=_(what), answer=repr(answer)))


def is_close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance


# --- what the notebooks pass in -----------------------------------------------------------------------------


def as_labels(values, what: str) -> np.ndarray:
    """Integer class labels as a 1-D array, or a TypeError that names the argument."""
    array = np.asarray(values)
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise ContextError(
            _("{what} should be a 1-D array of integer labels, got {got}").format(
                what=what, got=describe(array)
            )
        )
    if array.min() < 0:
        raise ContextError(_("{what} holds negative labels").format(what=what))
    return array.astype(np.int64)


def as_images(values, what: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim < 2 or not np.issubdtype(array.dtype, np.number):
        raise ContextError(
            _("{what} should be an array of images, got {got}").format(what=what, got=describe(array))
        )
    return array


def as_history(history) -> dict[str, list[float]]:
    """The per-epoch figures from a Keras ``History`` or its ``.history`` dict."""
    figures = getattr(history, "history", history)
    if not isinstance(figures, Mapping) or not all(k in figures for k in ("accuracy", "val_accuracy")):
        raise ContextError(
            _("pass fit's history (history.history), from a fit with validation_data and the accuracy metric")
        )
    return {key: [float(v) for v in values] for key, values in figures.items()}


def confusion_counts(y_true, y_pred) -> np.ndarray:
    """The confusion matrix (rows true, columns predicted) over every class either array mentions."""
    from sklearn.metrics import confusion_matrix

    y_true, y_pred = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ContextError(
            _("y_true and y_pred differ in length ({first} and {second})").format(
                first=y_true.size, second=y_pred.size
            )
        )
    num_classes = int(max(y_true.max(), y_pred.max())) + 1
    return confusion_matrix(y_true, y_pred, labels=np.arange(num_classes))


def class_label(index: int, class_names: Sequence[str] | None) -> str:
    if class_names is None or class_names[index] == str(index):
        return str(index)
    return f"{index} ({class_names[index]})"
