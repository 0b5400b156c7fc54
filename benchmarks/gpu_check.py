"""The GPU check: the course's model and training helper for a few epochs, float32 then mixed precision.

Prepared for a machine with a GPU but without TensorFlow: run it there on Keras' JAX backend,
``KERAS_BACKEND=jax python benchmarks/gpu_check.py --epochs 3``. It works on any backend, so it is also
tried here on the CPU (``--epochs 1 --images 512``). Prints, per run, the device, the batch size, each
epoch's seconds and the test accuracy, and writes them as JSON with ``--json``. Results go into
docs/performance.md.
"""

# ruff: noqa: E402 -- TensorFlow's log is quieted before the imports that load it
from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import tempfile
from pathlib import Path

import course_utils

course_utils.quiet_tensorflow_logs()  # first, before TensorFlow loads: keeps its C++ start-up log quiet

# isort: split
import keras
from throughput import EpochTimer  # this folder: benchmarks/

from course_utils.data import load_dataset
from course_utils.distribute import build_cnn_for_policy, mixed_precision_policy, suggested_batch_size
from course_utils.env import list_devices
from course_utils.params import check_params
from course_utils.training import train_model


def one_run(data, epochs: int, batch_size: int, mixed: bool) -> dict:
    """Train through the course's helper (backups, checkpoint) and evaluate once on the test set."""
    with tempfile.TemporaryDirectory() as artifacts, mixed_precision_policy(mixed):
        params = check_params(
            epochs=epochs, batch_size=batch_size, artifacts_dir=artifacts, mixed_precision=mixed, seed=42
        )
        timer = EpochTimer()
        trained = train_model(params, data, build_cnn_for_policy, extra_callbacks=[timer])
        _, accuracy = trained.model.evaluate(data.x_test, data.y_test, verbose=0, batch_size=1024)
    return {
        "policy": "mixed_float16" if mixed else "float32",
        "batch_size": batch_size,
        "epoch_seconds": [round(seconds, 3) for seconds in timer.seconds],
        "test_accuracy": round(float(accuracy), 4),
    }


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--images", type=int, default=0, help="use only this many training images (0 = all)")
    parser.add_argument("--data-source", default="offline")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    data = load_dataset("mnist", args.data_source)
    if args.images:
        data = dataclasses.replace(
            data, x_train=data.x_train[: args.images], y_train=data.y_train[: args.images]
        )
    devices = list_devices()
    on_gpu = any(d.startswith(("GPU", "CUDA")) for d in devices)
    batch = suggested_batch_size(32, on_gpu=on_gpu)
    header = {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "devices": devices,
        "platform": platform.platform(),
        "training_images": len(data.x_train),
        "data": data.source,
    }
    print(json.dumps(header))
    runs = []
    for mixed in (False, True):
        result = one_run(data, args.epochs, batch, mixed)
        print(json.dumps(result), flush=True)
        runs.append(result)
    if args.json:
        args.json.write_text(json.dumps({**header, "runs": runs}, indent=1))
    return runs


if __name__ == "__main__":
    main()
