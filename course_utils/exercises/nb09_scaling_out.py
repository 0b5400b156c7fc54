"""The exercises of 09_scaling_out.ipynb (when one machine is not enough): ``nb09.q1``, with its checker."""

from __future__ import annotations

from course_utils.exercises.checking import (
    AnswerError,
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _


def _check_mixed_precision_model(answer, strategy) -> Verdict:
    if not hasattr(strategy, "extended") or not hasattr(strategy, "scope"):
        raise ContextError(_("pass the notebook's strategy, the one make_strategy returned"))
    layers = getattr(answer, "layers", None)
    if not layers or not hasattr(answer, "weights"):
        raise AnswerError(
            _("Expected a Keras model, built with build_cnn_for_policy; got {got}.").format(
                got=describe(answer)
            )
        )
    if not all(strategy.extended.variable_created_in_scope(getattr(w, "value", w)) for w in answer.weights):
        return wrong(
            _(
                "Its weights were made outside this strategy's scope, so the strategy cannot keep one copy "
                "per "
                "replica. Build the model inside `with strategy.scope():`."
            )
        )
    hidden = [layer.compute_dtype for layer in layers[:-1]]
    if any(dtype != "float16" for dtype in hidden):
        return wrong(
            _(
                "Its layers compute in {dtypes}, not float16: build it under the policy, inside "
                "`with mixed_precision_policy(True):`."
            ).format(dtypes=", ".join(sorted(set(hidden))))
        )
    if layers[-1].compute_dtype != "float32":
        return wrong(
            _(
                "Its output layer computes in float16: the logits and the loss need float32. "
                "build_cnn_for_policy "
                "makes the last layer float32 (build_cnn does not)."
            )
        )
    if any(w.dtype != "float32" for w in answer.weights):
        return wrong(_("Some of its weights are not float32: keep the master weights in float32."))
    optimizer = getattr(answer, "optimizer", None)
    if optimizer is None:
        return wrong(
            _("The model is not compiled: call answer.compile(...) as above, inside the same `with` block.")
        )
    return right(
        _(
            "Its {count:,} weights were made inside the strategy's scope and stay float32; its hidden layers "
            "compute in float16 and its logits in float32; compile gave it a {optimizer}, for the loss "
            "scaling. This model is ready for a GPU with tensor cores (on a CPU it is slower than float32)."
        ).format(count=answer.count_params(), optimizer=type(optimizer).__name__)
    )


nb09 = ExerciseSet(
    "nb09",
    "09_scaling_out.ipynb",
    Exercise(
        N_("A model for a GPU"),
        N_(
            "Build and compile the lesson's model for mixed precision under this notebook's strategy, "
            "without training it."
        ),
        _check_mixed_precision_model,
        hint=N_(
            "Copy the cell that built `model` under the strategy, and give `mixed_precision_policy` the "
            "value "
            "`True` instead of `params.mixed_precision`. Build and compile inside the same `with` block."
        ),
        solution=N_(
            "The policy and the scope together, then build and compile inside them:\n\n"
            "```python\n"
            "with mixed_precision_policy(True), strategy.scope():\n"
            "    answer = build_cnn_for_policy(num_classes=data.num_classes)\n"
            "    answer.compile(\n"
            "        optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),\n"
            "        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),\n"
            "        metrics=['accuracy'],\n"
            "    )\n"
            "```"
        ),
        usage="check(answer, strategy)",
    ),
)
