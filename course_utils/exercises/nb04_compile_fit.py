"""The exercises of 04_compile_fit.ipynb (compile and fit): ``nb04.q1`` and on, with their checkers."""

from __future__ import annotations

import math
import numbers

import numpy as np

from course_utils.exercises.checking import (
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_choice,
    as_history,
    as_number,
    as_whole_number,
    describe,
    is_close,
    right,
    wrong,
)
from course_utils.i18n import N_, _

NEW_BATCH_SIZE = 128


def _check_steps_per_epoch(answer, num_train) -> Verdict:
    if (
        isinstance(num_train, (bool, np.bool_))
        or not isinstance(num_train, numbers.Integral)
        or num_train < 1
    ):
        raise ContextError(
            _("num_train should be the number of training images, got {got}").format(got=describe(num_train))
        )
    n = int(num_train)
    truth = math.ceil(n / NEW_BATCH_SIZE)
    value = as_number(answer, N_("a number of steps, a whole number"))
    if not value.is_integer():
        if is_close(value, n / NEW_BATCH_SIZE, 1e-6):
            return wrong(
                _(
                    "{count:,} / 128 = {value:g} is not whole: the images left over form one more, smaller "
                    "batch, and that is one more step. Round up."
                ).format(count=n, value=value)
            )
        return wrong(_("A number of steps is whole; {value:g} is not.").format(value=value))
    steps = int(value)
    if steps == truth:
        rest = n % NEW_BATCH_SIZE
        if rest:
            message = _(
                "ceil({count:,} / 128) = {steps} weight updates per epoch ({full} full batches and "
                "one of {rest})."
            )
        else:
            message = _("ceil({count:,} / 128) = {steps} weight updates per epoch.")
        return right(message.format(count=n, steps=truth, full=n // NEW_BATCH_SIZE, rest=rest))
    if steps == n // NEW_BATCH_SIZE:
        return wrong(
            _(
                "That counts the full batches only; the {rest} images left over make one more batch, and "
                "one more step."
            ).format(rest=n % NEW_BATCH_SIZE)
        )
    if steps == math.ceil(n / 32):
        return wrong(
            _(
                "That is the count at batch_size=32, the lesson's default (fit's log shows it as "
                "'steps/steps'). With 128 images per batch there are four times fewer steps."
            )
        )
    if steps == n:
        return wrong(
            _("That is the number of images; the weights change once per batch, not once per image.")
        )
    if steps == NEW_BATCH_SIZE:
        return wrong(_("128 is the batch size, images per step, not the number of steps."))
    return wrong(
        _("{steps:,} is not it: how many batches of 128 does it take to cover {count:,} images?").format(
            steps=steps, count=n
        )
    )


def _check_best_epoch(answer, history) -> Verdict:
    figures = as_history(history)
    val = np.asarray(figures["val_accuracy"])
    epochs = len(val)
    best = set((np.flatnonzero(val == val.max()) + 1).tolist())
    epoch = as_whole_number(answer, N_("an epoch number, a whole number"))
    if epoch in best:
        peak = _("Validation accuracy peaked at {accuracy:.2%} in epoch {epoch} of {epochs}.").format(
            accuracy=val.max(), epoch=epoch, epochs=epochs
        )
        after = _("Training longer did not help after that.") if epoch < epochs else _("It was still rising.")
        return right(f"{peak} {after}")
    if epoch + 1 in best:
        return wrong(_("Keras counts epochs from 1 ('Epoch 1/...'); you gave the 0-based list index."))
    if not 1 <= epoch <= epochs:
        return wrong(_("This run had epochs 1 to {epochs}.").format(epochs=epochs))
    train = np.asarray(figures["accuracy"])
    if train[epoch - 1] == train.max():
        return wrong(
            _(
                "That is where the *training* accuracy ('accuracy') peaked; the question is about validation "
                "('val_accuracy')."
            )
        )
    if "val_loss" in figures and epoch - 1 == int(np.argmin(figures["val_loss"])):
        return wrong(
            _(
                "That is the epoch with the lowest validation *loss*; loss and accuracy do not always peak "
                "together. Look at val_accuracy."
            )
        )
    return wrong(
        _("In epoch {epoch} validation accuracy was {accuracy:.2%}; another epoch was higher.").format(
            epoch=epoch, accuracy=val[epoch - 1]
        )
    )


def _check_train_vs_validation(answer, history) -> Verdict:
    figures = as_history(history)
    train, val = figures["accuracy"][-1], figures["val_accuracy"][-1]
    said = as_choice(
        answer,
        {"training": ("training", "train", "accuracy"), "validation": ("validation", "val", "val_accuracy")},
        N_("'training' or 'validation'"),
    )
    figures_line = _("training {train:.2%}, validation {val:.2%} in the last epoch").format(
        train=train, val=val
    )
    if train == val:
        return right(
            _("They are equal here ({accuracy:.2%}), so either answer is right.").format(accuracy=train)
        )
    truth = "training" if train > val else "validation"
    if said != truth:
        return wrong(
            _(
                "Look at the last epoch's line in fit's log: 'accuracy' is training, 'val_accuracy' is "
                "validation ({figures})."
            ).format(figures=figures_line)
        )
    if truth == "training":
        return right(
            _(
                "{figures}. A model does a little better on the images it learns from; a gap that keeps "
                "growing epoch after epoch is overfitting."
            ).format(figures=figures_line[:1].upper() + figures_line[1:])
        )
    return right(
        _(
            "{figures}. This is common early on: Keras averages training accuracy over the epoch, while the "
            "weights were still improving, and measures validation with the end-of-epoch weights."
        ).format(figures=figures_line[:1].upper() + figures_line[1:])
    )


nb04 = ExerciseSet(
    "nb04",
    "04_compile_fit.ipynb",
    Exercise(
        N_("A bigger batch"),
        N_(
            "How many weight updates (steps) would one epoch make with `batch_size=128` on this "
            "notebook's training set?"
        ),
        _check_steps_per_epoch,
        hint=N_(
            "One step per batch. Divide the number of training images, `len(data.x_train)`, by 128; what "
            "happens to the images left over?"
        ),
        solution=N_(
            "Divide and round up:\n\n"
            "```python\n"
            "import math\n\n"
            "answer = math.ceil(len(data.x_train) / 128)\n"
            "```\n\n"
            "That is 32 on the offline sample (4,000 images) and 469 on full MNIST (60,000). The "
            "last batch is "
            "smaller, but it is still a step."
        ),
        usage="check(answer, len(data.x_train))",
    ),
    Exercise(
        N_("The best epoch"),
        N_("In which epoch (counting from 1, as fit's log does) was the validation accuracy highest?"),
        _check_best_epoch,
        hint=N_(
            "`history.history['val_accuracy']` is a list with one value per epoch. Where is its largest "
            "value? Mind that Python counts from 0."
        ),
        solution=N_(
            "Find the position of the largest value and add 1:\n\n"
            "```python\n"
            "import numpy as np\n\n"
            "answer = int(np.argmax(history.history['val_accuracy'])) + 1\n"
            "```\n\n"
            "It depends on the run (with one epoch it is 1)."
        ),
        usage="check(answer, history.history)",
    ),
    Exercise(
        N_("Training or validation?"),
        N_("In the last epoch, which accuracy was higher: `'training'` or `'validation'`?"),
        _check_train_vs_validation,
        hint=N_(
            "Compare `history.history['accuracy'][-1]` with `history.history['val_accuracy'][-1]`, or "
            "read the last line of fit's log."
        ),
        solution=N_(
            "Compare the last values of the two lists:\n\n"
            "```python\n"
            "last_train = history.history['accuracy'][-1]\n"
            "last_val = history.history['val_accuracy'][-1]\n"
            "answer = 'training' if last_train > last_val else 'validation'\n"
            "```\n\n"
            "It depends on the run: after many epochs training is usually higher; after one, validation "
            "often is."
        ),
        usage="check(answer, history.history)",
    ),
)
