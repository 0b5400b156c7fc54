"""The exercises of 04_compile_fit.ipynb (compile and fit): ``nb04.q1`` and on, with their checkers."""

from __future__ import annotations

import math

import numpy as np

from course_utils.exercises.checking import (
    AnswerError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_choice,
    as_history,
    as_whole_number,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _

NEW_BATCH_SIZE = 128
EXERCISE_IMAGES = 2000  # a slice of the training set: one epoch takes seconds


def _check_bigger_batch(answer, model) -> Verdict:
    if isinstance(answer, dict):
        raise AnswerError(
            _(
                "Pass what fit returns (the History itself), not its .history: the step count is in its "
                ".params."
            )
        )
    params = getattr(answer, "params", None)
    if not isinstance(params, dict) or "steps" not in params:
        raise AnswerError(
            _("Expected what fit returns, a History (answer = clone.fit(...)); got {got}.").format(
                got=describe(answer)
            )
        )
    if model is not None and getattr(answer, "model", None) is model:
        return wrong(
            _(
                "You trained the notebook's own model further, after it was saved. Fit a fresh copy: "
                "clone = keras.models.clone_model(model), then compile and fit the clone."
            )
        )
    steps, epochs = params["steps"], params.get("epochs")
    if epochs != 1:
        return wrong(_("Fit for one epoch (epochs=1); yours ran {epochs}.").format(epochs=epochs))
    at_128, at_32 = math.ceil(EXERCISE_IMAGES / NEW_BATCH_SIZE), math.ceil(EXERCISE_IMAGES / 32)
    if steps == at_128:
        return right(
            _(
                "{steps} steps of {batch} images cover {count:,} images (the last batch is smaller). With "
                "the "
                "lesson's batch of 32 the same epoch takes {old} steps: a batch four times bigger gives four "
                "times fewer weight updates per epoch. Each step costs more, so an epoch is not four times "
                "faster, and fewer updates usually need more epochs or a larger learning rate."
            ).format(steps=steps, batch=NEW_BATCH_SIZE, count=EXERCISE_IMAGES, old=at_32)
        )
    if steps == at_32:
        return wrong(
            _("{steps} steps is the batch of 32, Keras' default: pass batch_size=128 to fit.").format(
                steps=steps
            )
        )
    if steps > at_128 and steps * NEW_BATCH_SIZE > EXERCISE_IMAGES + NEW_BATCH_SIZE:
        return wrong(
            _(
                "{steps} steps is more than {count:,} images need at 128 per batch: fit on "
                "train_images[:{count}] and train_labels[:{count}] with batch_size=128."
            ).format(steps=steps, count=EXERCISE_IMAGES)
        )
    return wrong(
        _(
            "The epoch took {steps} steps; with batch_size=128 on the first {count:,} training images it "
            "takes {truth}."
        ).format(steps=steps, count=EXERCISE_IMAGES, truth=at_128)
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
            "Fit a fresh copy of the model for one epoch with `batch_size=128` on the first 2,000 training "
            "images, and compare the number of steps with the lesson's batch of 32."
        ),
        _check_bigger_batch,
        hint=N_(
            "`clone = keras.models.clone_model(model)` gives the same layers with new weights. Compile it as "
            "above, then `clone.fit(train_images[:2000], train_labels[:2000], epochs=1, batch_size=128)`; "
            "`fit` returns the History to check."
        ),
        solution=N_(
            "A fresh copy, compiled as the lesson's model, fitted once on 2,000 images:\n\n"
            "```python\n"
            "clone = keras.models.clone_model(model)\n"
            "clone.compile(\n"
            "    optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),\n"
            "    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
            "    metrics=['accuracy'],\n"
            ")\n"
            "answer = clone.fit(\n"
            "    train_images[:2000], train_labels[:2000], epochs=1, batch_size=128, verbose=2\n"
            ")\n"
            "```\n\n"
            "The log shows 16 steps (`16/16`); with `batch_size=32` it would show 63."
        ),
        usage="check(answer, model)",
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
