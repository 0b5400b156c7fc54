"""The lesson's model: a small convolutional network for 28 x 28 grey images, built with plain Keras."""

from __future__ import annotations

import dataclasses

import keras
from keras import layers

from course_utils.i18n import _


@dataclasses.dataclass
class TrainedModel:
    """A trained model with its per-epoch history and what it was trained on."""

    model: keras.Model
    history: dict[str, list[float]]
    metadata: dict


def build_cnn(num_classes: int = 10, input_shape: tuple[int, int, int] = (28, 28, 1)) -> keras.Model:
    """The course's CNN: two conv + max-pool blocks, then a dense layer and ``num_classes`` logits.

    The output layer has no softmax: it returns logits, and the loss is told so (``from_logits=True``).
    """
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, (3, 3), activation="relu", name="conv1"),
            layers.MaxPooling2D((2, 2), name="pool1"),
            layers.Conv2D(64, (3, 3), activation="relu", name="conv2"),
            layers.MaxPooling2D((2, 2), name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="dense"),
            layers.Dense(num_classes, name="logits"),
        ],
        name="mnist_cnn",
    )


def compile_cnn(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Compile as the lesson does: Adam, sparse categorical cross-entropy on logits, accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def layer_table(model: keras.Model) -> list[tuple[str, str, tuple, int]]:
    """(name, kind, output shape without the batch axis, parameter count) for each layer."""
    return [
        (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
    ]


def print_layer_table(model: keras.Model) -> None:
    """A plain-text summary that is the same on every machine (Keras' own summary adapts to the terminal)."""
    rows = layer_table(model)
    kind_width = max(14, *(len(row[1]) + 2 for row in rows))
    # The headings stay English: CJK characters are two columns wide and would break the alignment.
    print(f"{'layer':<16}{'kind':<{kind_width}}{'output shape':<16}{'parameters':>10}")
    for name, kind, shape, count in rows:
        print(f"{name:<16}{kind:<{kind_width}}{str(shape):<16}{count:>10,}")
    print(f"{'total':<{32 + kind_width}}{sum(r[3] for r in rows):>10,}")


def count_multiply_adds(model: keras.Model) -> int:
    """Multiply-adds one image costs in a forward pass: the work behind each prediction.

    A Conv2D output value takes kernel height x width x input channels of them, one per weight it applies;
    a Dense unit takes one per input. Pooling, flatten and activations are comparisons and are not counted.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            out_h, out_w, filters = layer.output.shape[1:]
            total += out_h * out_w * filters * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)


# --- 07_better_model: the same network with the usual ways to do better ---------------------------------


def build_augmentation(
    rotation: float = 0.04, translation: float = 0.08, zoom: float = 0.08, seed: int | None = None
) -> keras.Sequential:
    """Small random rotations, shifts and zooms of each training image; the identity at inference.

    Keras' preprocessing layers change images only when called with ``training=True`` (as ``fit`` does).
    ``rotation`` is a fraction of a full turn (0.04 is about 14 degrees); ``translation`` and ``zoom`` are
    fractions of the image size. Shifts are by whole pixels (``nearest``), which keeps strokes sharp.
    """
    return keras.Sequential(
        [
            layers.RandomRotation(rotation, fill_mode="constant", seed=seed, name="rotate"),
            layers.RandomTranslation(
                translation, translation, "constant", "nearest", seed=seed, name="shift"
            ),
            layers.RandomZoom(zoom, fill_mode="constant", seed=seed, name="zoom"),
        ],
        name="augment",
    )


def build_improved_cnn(
    num_classes: int = 10,
    augment: bool = True,
    dropout: float = 0.25,
    input_shape: tuple[int, int, int] = (28, 28, 1),
) -> keras.Model:
    """The seed CNN's layers plus data augmentation, batch normalisation and dropout.

    The convolutions and dense layers are the lesson's model's, so a gain comes from how it is trained, not
    from a bigger network. Batch normalisation follows each convolution and the dense layer (which then
    need no bias), with ``momentum=0.9`` so its running averages settle within one epoch of a small training
    set; dropout sits before the two dense layers. Returns logits, like ``build_cnn``.
    """
    stack: list[keras.layers.Layer] = [keras.Input(shape=input_shape)]
    if augment:
        stack.append(build_augmentation())
    for name, filters in (("1", 32), ("2", 64)):
        stack += [
            layers.Conv2D(filters, (3, 3), use_bias=False, name=f"conv{name}"),
            layers.BatchNormalization(momentum=0.9, name=f"bn{name}"),
            layers.Activation("relu", name=f"relu{name}"),
            layers.MaxPooling2D((2, 2), name=f"pool{name}"),
        ]
    stack += [
        layers.Flatten(name="flatten"),
        layers.Dropout(dropout, name="dropout1"),
        layers.Dense(64, use_bias=False, name="dense"),
        layers.BatchNormalization(momentum=0.9, name="bn3"),
        layers.Activation("relu", name="relu3"),
        layers.Dropout(dropout, name="dropout2"),
        layers.Dense(num_classes, name="logits"),
    ]
    return keras.Sequential(stack, name="improved_cnn")


def cosine_learning_rate(
    learning_rate: float, total_steps: int, floor: float = 0.01
) -> keras.optimizers.schedules.LearningRateSchedule:
    """A learning rate that starts at ``learning_rate`` and falls along a cosine to ``floor`` times it.

    Large steps early move fast; small steps late settle into a minimum instead of jumping around it.
    ``total_steps`` is the number of batches in the whole run (``epochs * ceil(n_train / batch_size)``).
    """
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ValueError(_("total_steps must be a positive integer, got {value!r}").format(value=total_steps))
    return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=total_steps, alpha=floor)


def print_comparison_table(results: dict[str, dict[str, float | int]]) -> None:
    """Rows of named figures as an aligned plain-text table: ``{model: {column: value}}``.

    Floats in [0, 1] print as percentages, other numbers with thousands separators.
    """
    if not results:
        raise ValueError(_("results is empty: pass {{model name: {{column: value}}}}").format())
    columns = list(dict.fromkeys(column for row in results.values() for column in row))
    width = max(len(str(name)) for name in results) + 2
    cells = {
        name: [_format_figure(row[c]) if c in row else "-" for c in columns] for name, row in results.items()
    }
    widths = [max(len(c), *(len(cells[name][i]) for name in results)) + 2 for i, c in enumerate(columns)]
    print(f"{'':<{width}}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True)))
    for name in results:
        print(f"{name:<{width}}" + "".join(f"{v:>{w}}" for v, w in zip(cells[name], widths, strict=True)))


def _format_figure(value) -> str:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and 0 <= value <= 1:
        return f"{value:.2%}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"
    return str(value)
