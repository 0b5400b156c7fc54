"""The exercises of 08_fashion_mnist.ipynb (Fashion-MNIST): ``nb08.q1``, with its checker."""

from __future__ import annotations

from course_utils.exercises.checking import (
    AnswerError,
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_history,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _

# The layers of 07's changes against overfitting (Keras' class names).
CHANGES = {
    "Dropout": N_("dropout"),
    "BatchNormalization": N_("batch normalisation"),
    "RandomRotation": N_("augmentation"),
    "RandomTranslation": N_("augmentation"),
    "RandomZoom": N_("augmentation"),
}


def _layer_kinds(model) -> list[str]:
    """The class names of a model's layers, looking inside nested models (such as build_augmentation's)."""
    kinds = []
    for layer in getattr(model, "layers", []):
        kinds.append(type(layer).__name__)
        kinds += _layer_kinds(layer)
    return kinds


def _gap(figures: dict) -> float:
    return figures["accuracy"][-1] - figures["val_accuracy"][-1]


def _check_one_change(answer, history) -> Verdict:
    lesson = getattr(history, "history", history)
    if not isinstance(lesson, dict) or "val_accuracy" not in lesson:
        raise ContextError(_("pass the notebook's history, from the fit with validation_split"))
    if isinstance(answer, dict):
        raise AnswerError(
            _("Pass what fit returns (the History itself), not its .history: the check needs its model.")
        )
    model = getattr(answer, "model", None)
    if model is None or not hasattr(answer, "params"):
        raise AnswerError(
            _("Expected what fit returns, a History (answer = changed.fit(...)); got {got}.").format(
                got=describe(answer)
            )
        )
    if answer is history or model is getattr(history, "model", None):
        return wrong(_("That is the lesson's model of this notebook; build a new one with one change."))
    names = {CHANGES[kind] for kind in _layer_kinds(model) if kind in CHANGES}
    found = sorted(_(name) for name in names)
    if not found:
        return wrong(
            _(
                "The model has none of 07's changes: add a Dropout layer, BatchNormalization layers or the "
                "augmentation layers of build_augmentation()."
            )
        )
    if "val_accuracy" not in answer.history:
        return wrong(
            _(
                "Fit with validation_split=0.1, so that the check can compare training and validation "
                "accuracy."
            )
        )
    epochs = len(answer.history["val_accuracy"])
    if epochs > 3:
        return wrong(_("Three epochs are enough here; yours ran {epochs}.").format(epochs=epochs))
    yours = as_history(answer)
    return right(
        _(
            "Your model ({changes}), last epoch: training {train:.2%}, validation {val:.2%}, a gap of "
            "{gap:+.1f} points. The lesson's model above: {lesson_gap:+.1f} points after {lesson_epochs} "
            "epoch(s). "
            "A smaller gap means less overfitting; after {epochs} epoch(s) on a few thousand images it is a "
            "hint, not a proof: compare over more epochs and seeds, on the validation set, as 07 does."
        ).format(
            changes=", ".join(found),
            train=yours["accuracy"][-1],
            val=yours["val_accuracy"][-1],
            gap=100 * _gap(yours),
            lesson_gap=100 * _gap(lesson),
            lesson_epochs=len(lesson["val_accuracy"]),
            epochs=epochs,
        )
    )


nb08 = ExerciseSet(
    "nb08",
    "08_fashion_mnist.ipynb",
    Exercise(
        N_("One change against overfitting"),
        N_(
            "Make one change to the lesson's model that 07 uses against overfitting, and fit it for 3 epochs "
            "on the first 3,000 training images with `validation_split=0.1`."
        ),
        _check_one_change,
        hint=N_(
            "Build the model with `keras.Sequential([...])` from the layers of `03`, adding for example "
            "`keras.layers.Dropout(0.25)` after `Flatten()`. Compile it as above, then "
            "`fit(data.x_train[:3000], data.y_train[:3000], epochs=3, validation_split=0.1)`."
        ),
        solution=N_(
            "The lesson's layers with a `Dropout(0.25)` after `Flatten()`:\n\n"
            "```python\n"
            "changed = keras.Sequential(\n"
            "    [\n"
            "        keras.Input(shape=(28, 28, 1)),\n"
            "        keras.layers.Conv2D(32, (3, 3), activation='relu'),\n"
            "        keras.layers.MaxPooling2D((2, 2)),\n"
            "        keras.layers.Conv2D(64, (3, 3), activation='relu'),\n"
            "        keras.layers.MaxPooling2D((2, 2)),\n"
            "        keras.layers.Flatten(),\n"
            "        keras.layers.Dropout(0.25),\n"
            "        keras.layers.Dense(64, activation='relu'),\n"
            "        keras.layers.Dense(10),\n"
            "    ]\n"
            ")\n"
            "changed.compile(\n"
            "    optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),\n"
            "    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
            "    metrics=['accuracy'],\n"
            ")\n"
            "answer = changed.fit(\n"
            "    data.x_train[:3000], data.y_train[:3000], epochs=3, validation_split=0.1, verbose=2\n"
            ")\n"
            "```"
        ),
        usage="check(answer, history)",
    ),
)
