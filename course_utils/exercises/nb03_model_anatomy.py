"""The exercises of 03_model_anatomy.ipynb (anatomy of the model): ``nb03.q1`` and on, with their checkers."""

from __future__ import annotations

from course_utils.exercises.checking import (
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_shape,
    as_whole_number,
    right,
    wrong,
)
from course_utils.i18n import N_, _


def _check_conv_parameters(answer) -> Verdict:
    count = as_whole_number(answer, N_("a parameter count, a whole number"))
    if count == (5 * 5 * 1 + 1) * 16:
        return right(_("(5 x 5 x 1 weights + 1 bias) x 16 filters = 416."))
    reasons = {
        5 * 5 * 1 * 16: _("You counted the weights (400) but not the 16 biases: each filter has one."),
        5 * 5 * 16 + 1: _("One bias per filter, not one for the whole layer: 16 biases."),
        5 * 5 + 1: _("That is one filter; the layer has 16."),
        5 * 5: _("That is the weights of one filter; the layer has 16 filters, each with a bias too."),
        320: _("That is conv1's count above (32 filters of 3 x 3); redo it for 16 filters of 5 x 5."),
        (3 * 3 + 1) * 16: _("You used a 3 x 3 filter; this one is 5 x 5."),
        24 * 24 * 16: _(
            "That is how many numbers the layer outputs (24 x 24 x 16). Parameters do not depend on the "
            "image size: each filter is reused at every position."
        ),
    }
    return wrong(
        reasons.get(
            count, _("Count each filter's weights (5 x 5 x input channels), add its bias, times 16 filters.")
        )
    )


def _check_conv_pool_shape(answer) -> Verdict:
    shape = as_shape(answer)
    if shape[:1] == (None,):
        shape = shape[1:]
    if shape == (12, 12, 16):
        return right(_("28 - 5 + 1 = 24, pooled 2 x 2 to 12; 16 filters give 16 channels: (12, 12, 16)."))
    reasons = {
        (24, 24, 16): _("That is the shape before pooling: 2 x 2 pooling halves the height and the width."),
        (28, 28, 16): _(
            "That is what padding='same' would give before pooling. Without padding a 5 x 5 filter loses 2 "
            "pixels on every side, and the pooling halves what is left."
        ),
        (14, 14, 16): _("Pooling halves, right, but the convolution first shrinks 28 to 24."),
        (26, 26, 16): _(
            "That is a 3 x 3 filter's shrinking (1 pixel per side); a 5 x 5 filter loses 2 per side."
        ),
        (13, 13, 16): _(
            "That is a 3 x 3 filter then pooling; a 5 x 5 filter loses 2 pixels per side, not 1."
        ),
        (12, 12): _("Height and width are right; the channels axis is missing."),
    }
    if shape in reasons:
        return wrong(reasons[shape])
    if len(shape) == 3 and shape[:2] == (12, 12):
        return wrong(
            _(
                "Height and width are right. The channels: one per filter, and there are 16, not {count}."
            ).format(count=shape[2])
        )
    if len(shape) == 4 and shape[1:] == (12, 12, 16):
        return wrong(_("Leave out the batch axis: give (height, width, channels) for one image."))
    return wrong(
        _("{shape} is not it. Work it out in two steps: the convolution, then the pooling.").format(
            shape=shape
        )
    )


def _check_dense_without_pooling(answer) -> Verdict:
    count = as_whole_number(answer, N_("a parameter count, a whole number"))
    flat = 11 * 11 * 64
    if count == (flat + 1) * 64:
        return right(
            _(
                "Without pool2 the dense layer sees all of conv2's 11 x 11 x 64 = 7,744 values: (7,744 + 1) "
                "x 64 = 495,680, almost five times the lesson's 102,464. Pooling keeps the model small."
            )
        )
    reasons = {
        (5 * 5 * 64 + 1) * 64: _(
            "That is the dense layer *with* pool2 (5 x 5 x 64 inputs). Without pool2 it sees conv2's "
            "output directly."
        ),
        flat * 64: _("You counted the weights but not the 64 biases."),
        flat: _(
            "That is the length of the flattened vector (the dense layer's inputs). Each of the 64 units "
            "has one weight per input, plus a bias."
        ),
        flat + 1: _("That is one unit; the dense layer has 64."),
        (13 * 13 * 64 + 1) * 64: _(
            "That uses 13 x 13: conv2 still shrinks pool1's 13 x 13 to 11 x 11 before the flatten."
        ),
        320 + 18_496 + (flat + 1) * 64 + 650: _(
            "That is the whole model; the question asks for the dense layer alone."
        ),
    }
    return wrong(
        reasons.get(
            count, _("Find conv2's output shape, flatten it (multiply out), then (inputs + 1) x 64 units.")
        )
    )


LESSON_LAYERS = ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
PADDED_TOTAL = 320 + 18_496 + (7 * 7 * 64 + 1) * 64 + 650  # 220,234


def _check_same_padding(predicted, padded_model) -> Verdict:
    layers = getattr(padded_model, "layers", None)
    if layers is None or not hasattr(padded_model, "count_params"):
        raise ContextError(_("pass the Keras model padded_model"))
    kinds = [type(layer).__name__ for layer in layers]
    if kinds != LESSON_LAYERS:
        return wrong(
            _(
                "The model's layers are {kinds}; keep the lesson's layers, in their order, and change only "
                "the padding of the two Conv2D layers."
            ).format(kinds=", ".join(kinds))
        )
    convolutions = [layer for layer in layers if type(layer).__name__ == "Conv2D"]
    valid = [number for number, layer in enumerate(convolutions, start=1) if layer.padding != "same"]
    if valid:
        return wrong(
            _(
                'Conv2D layer {number} still has padding="{padding}". Add padding="same" to both Conv2D '
                "layers."
            ).format(number=valid[0], padding=convolutions[valid[0] - 1].padding)
        )
    truth = padded_model.count_params()
    if truth != PADDED_TOTAL:
        return wrong(
            _(
                "The padding is right, but the model has {count:,} parameters instead of {expected:,}: keep "
                "the lesson's filters, kernel sizes and units."
            ).format(count=truth, expected=PADDED_TOTAL)
        )
    count = as_whole_number(predicted, N_("a parameter count, a whole number"))
    if count == truth:
        return right(
            _(
                "The convolutions now keep the size: 28 -> 28, pooled to 14, 14 -> 14, pooled to 7. Flatten "
                "gives 7 x 7 x 64 = 3,136 values, so the dense layer has (3,136 + 1) x 64 = 200,768 "
                "parameters, and the model {total:,} in all. The convolutions' own counts do not change: a "
                "filter has the same weights whatever the padding."
            ).format(total=truth)
        )
    reasons = {
        121_930: _(
            "That is the lesson's count. The convolutions keep their parameters, but with padding their "
            "outputs are larger, and so is what Flatten passes to the dense layer."
        ),
        320 + 18_496 + (14 * 14 * 64 + 1) * 64 + 650: _(
            "That leaves out the second pooling: pool2 still halves 14 to 7 before Flatten."
        ),
        (7 * 7 * 64 + 1) * 64: _("That is the dense layer alone; add the other layers' parameters."),
        7 * 7 * 64: _("That is the number of values Flatten passes on, not a parameter count."),
    }
    return wrong(
        reasons.get(
            count,
            _(
                "Not that. Padding changes the shapes, not the convolutions' weights: follow the height and "
                "width through the layers (28, then the pooling halves), then count the dense layer's "
                "inputs. padded_model.summary() shows the shapes."
            ),
        )
    )


nb03 = ExerciseSet(
    "nb03",
    "03_model_anatomy.ipynb",
    Exercise(
        N_("Parameters of a bigger filter"),
        N_(
            "Suppose the first layer were `layers.Conv2D(16, (5, 5))` on the (28, 28, 1) input. How many "
            "parameters would it have?"
        ),
        _check_conv_parameters,
        hint=N_(
            "Each filter has one weight per value it looks at (5 x 5 x 1 channel) and one bias. How many "
            "filters are there?"
        ),
        solution=N_(
            "`answer = (5 * 5 * 1 + 1) * 16`, which is 416. Check it with Keras: "
            "`keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5))]).count_params()`."
        ),
    ),
    Exercise(
        N_("A shape after a change"),
        N_(
            "What is the output shape (height, width, channels) of that `Conv2D(16, (5, 5))` on a "
            "(28, 28, 1) "
            "image, followed by `MaxPooling2D((2, 2))`? As in the lesson there is no padding, and the filter "
            "moves one pixel at a time (stride 1)."
        ),
        _check_conv_pool_shape,
        hint=N_(
            "A 5 x 5 filter without padding cannot centre on the two outermost pixels of each side. Then "
            "pooling halves, rounding down. The number of channels is the number of filters."
        ),
        solution=N_(
            "`answer = (12, 12, 16)`: 28 - 5 + 1 = 24, halved to 12, with 16 channels. Check it: "
            "`keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(16, (5, 5)), layers.MaxPooling2D((2, "
            "2))]).output_shape`."
        ),
    ),
    Exercise(
        N_("Why pool?"),
        N_(
            "Remove `pool2` from the lesson's model. How many parameters does the `dense` layer (64 units) "
            "have now?"
        ),
        _check_dense_without_pooling,
        hint=N_(
            "Without pool2, Flatten receives conv2's output, which is (11, 11, 64). A dense unit has one "
            "weight per input plus one bias."
        ),
        solution=N_(
            "`answer = (11 * 11 * 64 + 1) * 64`, which is 495,680: nearly five times as many as with "
            "pool2 (102,464), because the dense layer's inputs grow from 1,600 to 7,744."
        ),
    ),
    Exercise(
        N_("Same padding"),
        N_(
            'Change the copy of the lesson\'s model: add `padding="same"` to both `Conv2D` layers. Before '
            "you run the cell, predict the new model's total number of parameters."
        ),
        _check_same_padding,
        hint=N_(
            '`layers.Conv2D(32, (3, 3), activation="relu", padding="same")`. With that padding a '
            "convolution keeps the height and width; the pooling layers still halve them. Only the dense "
            "layer's inputs change."
        ),
        solution=N_(
            "```python\n"
            "predicted_parameters = 220_234\n"
            "padded_model = models.Sequential(\n"
            "    [\n"
            "        keras.Input(shape=(28, 28, 1)),\n"
            '        layers.Conv2D(32, (3, 3), activation="relu", padding="same"),\n'
            "        layers.MaxPooling2D((2, 2)),\n"
            '        layers.Conv2D(64, (3, 3), activation="relu", padding="same"),\n'
            "        layers.MaxPooling2D((2, 2)),\n"
            "        layers.Flatten(),\n"
            '        layers.Dense(64, activation="relu"),\n'
            "        layers.Dense(10),\n"
            "    ]\n"
            ")\n"
            "```\n\n"
            "28 x 28 stays 28 x 28, pooled to 14 x 14, stays 14 x 14, pooled to 7 x 7; Flatten gives "
            "7 x 7 x 64 = 3,136 values; the dense layer (3,136 + 1) x 64 = 200,768; plus 320, 18,496 "
            "and 650."
        ),
        usage="check(predicted_parameters, padded_model)",
    ),
)
