"""The GPU check: the lesson's own cells (03's model, 04's compile and fit) on a GPU, on Keras' JAX backend.

A machine lent with a GPU has JAX but no TensorFlow, so this runs the `blog`-tagged cells of 03 and 04 as they
are, with ``KERAS_BACKEND=jax``, on MNIST arrays from an ``.npz`` file (``x_train``, ``y_train``, ``x_test``,
``y_test``, as ``keras.datasets.mnist.load_data()`` gives them):

    KERAS_BACKEND=jax python benchmarks/gpu_check.py --data mnist.npz --epochs 10

Prints one JSON line per run: first ``steps_per_execution`` 1 against 04's setting for one epoch each (the
same seed, so the same training), then 04's fit for ``--epochs`` epochs, with each epoch's seconds and the
test accuracy. The figures go into docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import time
from pathlib import Path

import keras
import numpy as np

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def blog_cells(stem: str) -> list[str]:
    notebook = json.loads(next(NOTEBOOKS.glob(f"{stem}_*.ipynb")).read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    return ["".join(c["source"]) for c in cells if "blog" in c["metadata"].get("tags", [])]


class EpochSeconds(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = [*getattr(self, "seconds", []), round(time.perf_counter() - self.start, 2)]


def run(arrays: dict, epochs: int, steps_per_execution: int | None) -> dict:
    """03's model cell, 04's compile cell (its steps_per_execution replaced when given) and fit cell."""
    keras.utils.set_random_seed(42)
    (model_cell, *_), (compile_cell, fit_cell, *_) = blog_cells("03"), blog_cells("04")
    if steps_per_execution is not None:
        compile_cell = re.sub(
            r"steps_per_execution=\d+", f"steps_per_execution={steps_per_execution}", compile_cell
        )
    timer = EpochSeconds()
    fit_cell = fit_cell.replace("verbose=2", "verbose=0, callbacks=[timer]")
    params = argparse.Namespace(learning_rate=0.001)
    names = {**arrays, "params": params, "epochs": epochs, "batch_size": 32, "timer": timer}
    for source in (model_cell, compile_cell, fit_cell):
        exec(source, names)
    model = names["model"]
    _, accuracy = model.evaluate(arrays["test_images"], arrays["test_labels"], batch_size=1024, verbose=0)
    return {
        "steps_per_execution": model.steps_per_execution if hasattr(model, "steps_per_execution") else None,
        "epochs": epochs,
        "epoch_seconds": timer.seconds,
        "test_accuracy": round(float(accuracy), 4),
        "val_accuracy_per_epoch": [round(v, 4) for v in names["history"].history["val_accuracy"]],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="an .npz with the four MNIST arrays")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    with np.load(args.data) as raw:
        arrays = {
            "train_images": (raw["x_train"] / 255.0).reshape(-1, 28, 28, 1).astype("float32"),
            "train_labels": raw["y_train"],
            "test_images": (raw["x_test"] / 255.0).reshape(-1, 28, 28, 1).astype("float32"),
            "test_labels": raw["y_test"],
        }
    if keras.backend.backend() == "jax":
        import jax

        devices = [str(d) for d in jax.devices()]
    else:
        devices = [d.name for d in __import__("tensorflow").config.list_logical_devices()]
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "keras": keras.__version__,
                "devices": devices,
                "python": platform.python_version(),
                "training_images": len(arrays["train_images"]),
            }
        ),
        flush=True,
    )
    for steps in (1, None):  # the default against 04's own setting, one epoch each
        print(json.dumps(run(arrays, 1, steps)), flush=True)
    print(json.dumps(run(arrays, args.epochs, None)), flush=True)


if __name__ == "__main__":
    main()
