"""Kill ``save_trained_model`` with SIGKILL at random moments and check what each kill leaves behind.

A child process saves a real model (the course's CNN, 121,930 parameters) with ``save_trained_model`` over
an existing set (the "old" set: another model, another history, another accuracy). The parent kills it with
SIGKILL after a random delay drawn uniformly from 0 to 1.2 times the time one save takes here, then:

1. loads the folder with ``load_trained_model`` and checks that model, history and ``model.json`` all come
   from one save: the old set or the new one, never a mix, and no error;
2. saves the old set again (the "next save") and checks that nothing else is left in the folder: no staging
   folder, no temporary, no lock file.

Usage: ``.venv/bin/python benchmarks/kill_save.py [--kills 50] [--seed 0] [--json out.json]``. Exit status 0
when every kill left the old or the new set and the next save left no temporary. Figures: docs/robustness.md.
"""

# ruff: noqa: E402 -- TensorFlow's log is quieted before the imports that load it
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import course_utils

course_utils.quiet_tensorflow_logs()  # first, before TensorFlow loads: keeps its C++ start-up log quiet

# isort: split
import numpy as np

from course_utils.data import DATASETS, Dataset
from course_utils.params import check_params
from course_utils.training import (
    COMMIT_FILE,
    LOCK_FILE,
    SAVED_SET,
    STAGING_PREFIX,
    ArtifactError,
    load_trained_model,
    save_trained_model,
)

OLD = {"accuracy": 0.25, "history": {"loss": [3.0, 2.0, 1.0]}}
NEW = {"accuracy": 0.75, "history": {"loss": [5.0, 4.0, 3.0, 2.0, 1.0]}}


def metadata_dataset() -> Dataset:
    """What ``save_trained_model`` records about the data; no images are needed to save a model."""
    empty = np.zeros((1, 28, 28, 1), "float32")
    return Dataset(empty, np.zeros(1, "int64"), empty, np.zeros(1, "int64"), "none (kill test)",
                   DATASETS["mnist"].class_names, name="mnist", origin="sample")  # fmt: skip


def child(artifacts: str, model_file: str) -> None:
    """Load the new model, say READY, wait for "go" on stdin, save it over the old set, say how long."""
    import keras

    params = check_params(artifacts_dir=artifacts, data_source="sample")
    model = keras.saving.load_model(model_file)
    print("READY", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    save_trained_model(model, NEW["history"], params, metadata_dataset(), NEW["accuracy"])
    print(f"SAVED {time.perf_counter() - started:.4f}", flush=True)


def start_child(artifacts: Path, model_file: Path) -> subprocess.Popen:
    command = [sys.executable, __file__, "--child", str(artifacts), str(model_file)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process


def wait_ready(process: subprocess.Popen) -> None:
    line = process.stdout.readline()
    if line.strip() != "READY":
        raise RuntimeError(f"the child did not start: {line!r}")


def which_set(folder_params, old_weights, new_weights) -> str:
    """ "old", "new", "mixed" (files of two saves) or "error: ..." (refused or unreadable)."""
    try:
        trained = load_trained_model(folder_params)
    except ArtifactError as exc:
        return f"error: {exc}"
    if trained is None:
        return "error: no model"
    weights = trained.model.get_weights()[0]
    accuracy, history = trained.metadata["test_accuracy"], trained.history
    parts = {
        "old" if accuracy == OLD["accuracy"] else "new" if accuracy == NEW["accuracy"] else "?",
        "old" if history == OLD["history"] else "new" if history == NEW["history"] else "?",
        "old"
        if np.array_equal(weights, old_weights)
        else "new"
        if np.array_equal(weights, new_weights)
        else "?",
    }
    return parts.pop() if len(parts) == 1 and "?" not in parts else "mixed"


def leftovers(folder: Path) -> list[str]:
    """What the folder holds besides the saved set (the saved files are SAVED_SET)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in SAVED_SET)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0, help="seeds the random kill moments")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0

    import keras

    from course_utils.models import build_cnn, compile_cnn

    work = Path(tempfile.mkdtemp(prefix="kill-save-"))
    artifacts = work / "artifacts"
    params = check_params(artifacts_dir=str(artifacts), data_source="sample")
    data = metadata_dataset()
    keras.utils.set_random_seed(1)
    old_model = compile_cnn(build_cnn())
    keras.utils.set_random_seed(2)
    new_model = compile_cnn(build_cnn())
    for model in (old_model, new_model):  # saved with their optimizer's state, as after fit
        model.optimizer.build(model.trainable_variables)
    new_file = work / "new.keras"
    new_model.save(new_file)
    old_weights, new_weights = old_model.get_weights()[0], new_model.get_weights()[0]

    def save_old() -> None:
        save_trained_model(old_model, OLD["history"], params, data, OLD["accuracy"])

    # Calibration: how long one uninterrupted save takes here (the median of three).
    durations = []
    for _ in range(3):
        save_old()
        process = start_child(artifacts, new_file)
        wait_ready(process)
        process.stdin.write("go\n")
        process.stdin.flush()
        durations.append(float(process.stdout.readline().split()[1]))
        process.wait()
    save_time = sorted(durations)[1]
    print(f"one save takes {save_time * 1000:.0f} ms here; killing at 0 to {1.2 * save_time * 1000:.0f} ms")

    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    after_kill: Counter[str] = Counter()
    problems: list[str] = []
    started = time.monotonic()
    next_child = start_child(artifacts, new_file)
    for kill in range(1, args.kills + 1):
        save_old()
        process, next_child = next_child, None
        wait_ready(process)
        delay = rng.uniform(0.0, 1.2 * save_time)
        process.stdin.write("go\n")
        process.stdin.flush()
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        if kill < args.kills:
            next_child = start_child(artifacts, new_file)  # starts up while this kill is checked
        left = leftovers(artifacts)
        staged = [name for name in left if name.startswith(STAGING_PREFIX)]
        if any((artifacts / name / COMMIT_FILE).exists() for name in staged):
            after_kill["committed staging folder (to finish)"] += 1
        elif staged:
            after_kill["uncommitted staging folder (to undo)"] += 1
        else:
            after_kill["no staging folder"] += 1
        if LOCK_FILE in left:
            after_kill["lock file of the killed process"] += 1
        state = which_set(params, old_weights, new_weights)
        counts[state if state in ("old", "new", "mixed") else "error"] += 1
        if state not in ("old", "new"):
            problems.append(f"kill {kill} at {delay * 1000:.1f} ms: {state}")
        save_old()  # the next save
        left = leftovers(artifacts)
        if left:
            counts["temporaries left after the next save"] += 1
            problems.append(f"kill {kill}: left after the next save: {left}")
        print(f"kill {kill:2d} at {delay * 1000:6.1f} ms: {state}", flush=True)
    elapsed = time.monotonic() - started

    result = {
        "kills": args.kills,
        "seed": args.seed,
        "save_ms": round(save_time * 1000, 1),
        "loaded_as": {key: counts[key] for key in ("old", "new", "mixed", "error")},
        "temporaries_left_after_next_save": counts["temporaries left after the next save"],
        "right_after_the_kill": dict(after_kill),
        "problems": problems,
        "seconds": round(elapsed, 1),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    ok = not problems and counts["old"] + counts["new"] == args.kills
    print("OK: every kill left the old set or the new one" if ok else "FAILED: see problems above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
