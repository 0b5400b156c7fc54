"""Seconds per training epoch of the lesson's model and 07's improved model, at two batch sizes.

    .venv/bin/python benchmarks/epoch_time.py --images 12000

Trains each model for one warm-up step batch, then one timed epoch on the first ``--images`` training images
of whatever ``load_dataset("mnist", data_source)`` serves (full MNIST from the course's cache, or the sample),
all in one process, so the figures compare as ratios even on a noisy machine.
"""

# ruff: noqa: E402 -- TensorFlow's log is quieted before the imports that load it
from __future__ import annotations

import argparse
import time

import course_utils

course_utils.quiet_tensorflow_logs()  # first, before TensorFlow loads: keeps its C++ start-up log quiet

# isort: split
import keras

from course_utils.data import load_dataset
from course_utils.env import set_seed
from course_utils.models import build_cnn, build_improved_cnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_000)
    parser.add_argument("--data-source", default="auto")
    args = parser.parse_args()
    data = load_dataset("mnist", args.data_source)
    x, y = data.x_train[: args.images], data.y_train[: args.images]
    for name, build in (("lesson's model", build_cnn), ("improved model", build_improved_cnn)):
        for batch_size in (32, 128):
            set_seed(1)
            model = build()
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            # with a last partial batch, as in the timed epoch: a new shape would be traced again there
            warm = 4 * batch_size + len(x) % batch_size
            model.fit(x[:warm], y[:warm], batch_size=batch_size, verbose=0)
            start = time.perf_counter()
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
            seconds = time.perf_counter() - start
            print(f"{name:<15} batch {batch_size:>3}: {seconds:6.1f} s per {len(x):,} images", flush=True)


if __name__ == "__main__":
    main()
