"""Benchmark the course's training: plain ``model.fit`` against the course's helper, in one process.

Measures, on the same data with the same model and batch size:
- training throughput (images per second) of plain ``model.fit`` on NumPy arrays, as in the lesson, and of
  ``course_utils.training.train_model`` (resume backups, best-model checkpoint, TensorBoard), and their ratio;
- the model's multiply-adds per image;
- optionally (``--course``), the wall time of the whole course run with CI parameters.

Usage: ``.venv/bin/python benchmarks/throughput.py [--epochs 4] [--repeats 3] [--course] [--json out.json]``.
Epochs 2.. of each run are timed (epoch 1 includes tracing); the two ways alternate, so drift hits both
alike. Throughput comes from the fastest epoch of each way (load from other processes only ever adds time);
medians are reported too. See docs/performance.md for recorded figures.
"""

# ruff: noqa: E402 -- TensorFlow's log is quieted before the imports that load it
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import course_utils

course_utils.quiet_tensorflow_logs()  # first, before TensorFlow loads: keeps its C++ start-up log quiet

# isort: split
import keras
import numpy as np

from course_utils.data import load_dataset
from course_utils.env import set_seed, versions
from course_utils.models import build_cnn, compile_cnn, count_multiply_adds
from course_utils.params import check_params
from course_utils.training import train_model

ROOT = Path(__file__).resolve().parents[1]


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, measured from its start to the end of every other callback's epoch end."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def plain_fit(data, epochs: int, batch_size: int, seed: int) -> list[float]:
    """The lesson's own ``model.fit`` on NumPy arrays, with the test set as validation data."""
    set_seed(seed)
    model = compile_cnn(build_cnn(num_classes=data.num_classes))
    timer = EpochTimer()
    model.fit(
        data.x_train,
        data.y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(data.x_test, data.y_test),
        callbacks=[timer],
        verbose=0,
    )
    return timer.seconds


def helper_fit(data, epochs: int, batch_size: int, seed: int) -> list[float]:
    """The course's training helper, writing its backups, checkpoint and logs to a temporary folder."""
    with tempfile.TemporaryDirectory() as artifacts:
        params = check_params(epochs=epochs, batch_size=batch_size, seed=seed, artifacts_dir=artifacts)
        timer = EpochTimer()
        train_model(params, data, extra_callbacks=[timer])
        return timer.seconds


def course_wall_time() -> float:
    """Seconds for ``python -m course_tools run`` over every notebook with CI parameters."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "course_tools",
                "run",
                "--epochs",
                "1",
                "--data-source",
                "offline",
                "--output",
                out,
            ],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.perf_counter() - start


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each way, alternating")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data-source", default="offline")
    parser.add_argument(
        "--tile",
        type=int,
        default=1,
        help="repeat the training images this many times (15 makes the 4,000-image sample as long as MNIST)",
    )
    parser.add_argument(
        "--course", action="store_true", help="also time the whole course run (CI parameters)"
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch includes tracing and is not timed")

    data = load_dataset("mnist", args.data_source)
    if args.tile > 1:  # the same real images, more of them per epoch: per-epoch costs weigh as on full MNIST
        data = dataclasses.replace(
            data,
            x_train=np.tile(data.x_train, (args.tile, 1, 1, 1)),
            y_train=np.tile(data.y_train, args.tile),
        )
    steady = {"plain model.fit": [], "course helper": []}
    for repeat in range(args.repeats):
        for name, fit in (("plain model.fit", plain_fit), ("course helper", helper_fit)):
            seconds = fit(data, args.epochs, args.batch_size, seed=42 + repeat)
            steady[name].extend(seconds[1:])
            print(f"run {repeat + 1}/{args.repeats} {name:<16} epochs (s): {[round(s, 3) for s in seconds]}")

    images = len(data.x_train)
    results = {
        "machine": {"platform": platform.platform(), "processor": platform.processor(), **versions()},
        "data": data.source + (f", training images tiled x{args.tile}" if args.tile > 1 else ""),
        "training_images": images,
        "batch_size": args.batch_size,
        "epoch_seconds_fastest": {name: min(s) for name, s in steady.items()},
        "epoch_seconds_median": {name: statistics.median(s) for name, s in steady.items()},
        "images_per_second": {name: images / min(s) for name, s in steady.items()},
        "multiply_adds_per_image": count_multiply_adds(build_cnn()),
    }
    ips = results["images_per_second"]
    results["helper_vs_plain"] = ips["course helper"] / ips["plain model.fit"]
    medians = results["epoch_seconds_median"]
    results["helper_vs_plain_by_median"] = medians["plain model.fit"] / medians["course helper"]
    if args.course:
        results["course_run_seconds_ci_parameters"] = course_wall_time()

    print()
    for name, value in ips.items():
        fastest, median = results["epoch_seconds_fastest"][name], results["epoch_seconds_median"][name]
        print(f"{name:<16} {value:>9,.0f} images/s (fastest epoch {fastest:.3f} s, median {median:.3f} s)")
    ratio, by_median = results["helper_vs_plain"], results["helper_vs_plain_by_median"]
    print(f"helper / plain   {ratio:>9.3f}  (cost {1 - ratio:+.1%}; by medians {1 - by_median:+.1%})")
    print(f"multiply-adds    {results['multiply_adds_per_image']:>9,} per image")
    if args.course:
        print(f"course run       {results['course_run_seconds_ci_parameters']:>9.1f} s with CI parameters")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
