"""The exercises of 07_better_model.ipynb (a better model, honestly): ``nb07.q1``, with its checker."""

from __future__ import annotations

from course_utils.exercises.checking import (
    AnswerError,
    Exercise,
    ExerciseSet,
    Verdict,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _

LESSON_LAYERS = ("Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense")
LESSON_PARAMETERS = 121_930
RATE = 0.5


def _check_dropout_model(answer) -> Verdict:
    layers = getattr(answer, "layers", None)
    if layers is None or not hasattr(answer, "count_params"):
        raise AnswerError(
            _("Expected a Keras model, such as models.Sequential([...]); got {got}.").format(
                got=describe(answer)
            )
        )
    kinds = [type(layer).__name__ for layer in layers]
    dropouts = [i for i, kind in enumerate(kinds) if kind == "Dropout"]
    if not dropouts:
        return wrong(_("The model has no Dropout layer: add layers.Dropout(0.5) before the output layer."))
    if len(dropouts) > 1:
        return wrong(
            _("The model has {count} Dropout layers; the task asks for one.").format(count=len(dropouts))
        )
    [where] = dropouts
    others = tuple(kind for kind in kinds if kind != "Dropout")
    if others != LESSON_LAYERS:
        return wrong(
            _(
                "Apart from the Dropout layer, keep the lesson's layers in their order: {expected}; yours "
                "are {got}."
            ).format(expected=", ".join(LESSON_LAYERS), got=", ".join(others))
        )
    if where == len(kinds) - 1:
        return wrong(
            _(
                "The Dropout layer comes after the output layer: in training it would set some of the logits "
                "to zero. Put it between Dense(64) and Dense(10)."
            )
        )
    if where != len(kinds) - 2:
        return wrong(
            _(
                "The Dropout layer sits after {before}; the task puts it between the Dense(64) layer and the "
                "output layer."
            ).format(before=kinds[where - 1] if where else _("nothing"))
        )
    rate = float(getattr(layers[where], "rate", 0.0))
    if abs(rate - RATE) > 1e-9:
        return wrong(_("The Dropout rate is {rate:g}; the task asks for 0.5.").format(rate=rate))
    output = layers[-1]
    if getattr(output, "units", None) != 10 or getattr(output.activation, "__name__", "") != "linear":
        return wrong(
            _("Keep the output layer as the lesson's: Dense(10) with no activation, so that it gives logits.")
        )
    count = answer.count_params()
    if count != LESSON_PARAMETERS:
        return wrong(
            _("The model has {count:,} parameters; with the lesson's layers it has {lesson:,}.").format(
                count=count, lesson=LESSON_PARAMETERS
            )
        )
    return right(
        _(
            "Still {count:,} parameters: dropout adds none. In training it sets a random half of the 64 "
            "values to zero at every step (and doubles the others), so the output layer cannot rely on any "
            "one of them; in predict and evaluate it passes them unchanged."
        ).format(count=count)
    )


nb07 = ExerciseSet(
    "nb07",
    "07_better_model.ipynb",
    Exercise(
        N_("One change: dropout"),
        N_(
            "Write the lesson's model with one change: a `Dropout(0.5)` layer between the `Dense(64)` layer "
            "and the output layer."
        ),
        _check_dropout_model,
        hint=N_(
            "Copy the `models.Sequential([...])` of `03` and insert `layers.Dropout(0.5)` in the list, just "
            "before `layers.Dense(10)`. Here the layers are `keras.layers`."
        ),
        solution=N_(
            "The lesson's layers, with `Dropout(0.5)` before the output layer:\n\n"
            "```python\n"
            "answer = keras.Sequential(\n"
            "    [\n"
            "        keras.Input(shape=(28, 28, 1)),\n"
            "        keras.layers.Conv2D(32, (3, 3), activation='relu'),\n"
            "        keras.layers.MaxPooling2D((2, 2)),\n"
            "        keras.layers.Conv2D(64, (3, 3), activation='relu'),\n"
            "        keras.layers.MaxPooling2D((2, 2)),\n"
            "        keras.layers.Flatten(),\n"
            "        keras.layers.Dense(64, activation='relu'),\n"
            "        keras.layers.Dropout(0.5),\n"
            "        keras.layers.Dense(10),\n"
            "    ]\n"
            ")\n"
            "```"
        ),
    ),
)
