"""The lesson's model: a small convolutional network for 28 x 28 grey images, built with plain Keras."""

from __future__ import annotations

import keras
from keras import layers

# Parameters per layer, worked out by hand in 03_model_anatomy: (3*3*1 + 1)*32, (3*3*32 + 1)*64,
# (5*5*64 + 1)*64, (64 + 1)*10.
SEED_MODEL_PARAMS = 320 + 18_496 + 102_464 + 650  # 121,930


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
    print(f"{'layer':<16}{'kind':<14}{'output shape':<16}{'parameters':>10}")
    for name, kind, shape, count in rows:
        print(f"{name:<16}{kind:<14}{str(shape):<16}{count:>10,}")
    print(f"{'total':<46}{sum(r[3] for r in rows):>10,}")
