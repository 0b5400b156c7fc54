"""Benchmark the course's training on this machine: Keras settings side by side, in one process.

Three commands (``.venv/bin/python benchmarks/throughput.py COMMAND --help`` lists the options):

``settings``
    Training images per second of the lesson's model (04, batch 32) and 07's improved model (batch 128)
    under Keras settings that change no result: ``steps_per_execution`` (batches per call into TensorFlow)
    and ``jit_compile`` (XLA); then ``evaluate`` on the test set at several batch sizes. Every model is built
    and traced first; then the timed runs alternate (A, B, C, A, B, C, ...), each one ``fit`` of one epoch on
    the same ``--images`` training images, so a busy machine slows every setting alike. Each setting's
    figure is the median of its runs, reported as a ratio to the default (``compile`` as in the notebooks).
``check``
    The same seed, one epoch on ``--images`` images, with ``steps_per_execution`` 1 and another value: the
    largest weight difference and both accuracies, to show the setting changes no result.
``helper``
    Plain ``model.fit`` against the course's training helper (``course_utils.training.train_model``), the
    figures of docs/performance.md's first section.

Example: ``.venv/bin/python benchmarks/throughput.py settings --data-source full --repeats 3``.
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
from collections.abc import Callable
from functools import partial
from pathlib import Path

import course_utils

course_utils.quiet_tensorflow_logs()  # first, before TensorFlow loads: keeps its C++ start-up log quiet

# isort: split
import keras
import numpy as np

from course_utils.data import load_dataset
from course_utils.env import set_seed, versions
from course_utils.models import build_cnn, build_improved_cnn

ROOT = Path(__file__).resolve().parents[1]


def compiled(build: Callable[[], keras.Model], seed: int, **compile_settings) -> keras.Model:
    """A model built and compiled as in 04 and 07 (Adam 1e-3, logits, accuracy), plus ``compile_settings``.

    ``set_seed`` comes first, as in the notebooks: it turns on TensorFlow's deterministic kernels.
    """
    set_seed(seed)
    model = build()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **compile_settings,
    )
    return model


@dataclasses.dataclass
class Case:
    """One setting to time: a model, the batch size of its ``fit``, and the keywords given to ``compile``."""

    name: str
    build: Callable[[], keras.Model]
    batch_size: int
    settings: dict
    cell: bool = False  # fit as 04's cell does: the test set as validation data, and 04's Keras callbacks
    model: keras.Model | None = None
    seconds: list[float] = dataclasses.field(default_factory=list)
    cpu_seconds: list[float] = dataclasses.field(default_factory=list)  # all threads of this process


def settings_cases(groups: list[str]) -> list[Case]:
    """04's model at batch 32, and 07's two models at 07's batch 128, each under the settings compared."""
    spe = "steps_per_execution"
    jit = {"jit_compile": True}
    plans = {
        "04": [
            ("lesson's model", build_cnn, 32, [{}, {spe: 16}, {spe: 64}, {spe: 128}, jit, {**jit, spe: 64}]),
        ],
        "04cell": [("lesson's model in 04's cell", build_cnn, 32, [{}, {spe: 64}])],
        "07": [
            ("lesson's model", build_cnn, 128, [{}, {spe: 64}]),
            ("improved model", build_improved_cnn, 128, [{}, {spe: 16}, {spe: 64}]),
            (
                "improved model without augmentation (for scale)",
                partial(build_improved_cnn, augment=False),
                128,
                [{}],
            ),
        ],
    }
    cases = []
    for group in groups:
        for model_name, build, batch_size, variants in plans[group]:
            for variant in variants:
                shown = ", ".join(f"{key}={value}" for key, value in variant.items()) or "default"
                name = f"{group[:2]} {model_name}, batch {batch_size}, {shown}"
                cases.append(Case(name, build, batch_size, variant, cell=group == "04cell"))
    return cases


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def timed_with_cpu(call: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds (all threads), which a busy machine changes less."""
    cpu = time.process_time()
    wall = timed(call)
    return wall, time.process_time() - cpu


def cell_04_keywords(data, folder: Path) -> dict:
    """``fit``'s keywords in 04's training cell: the test set as validation data, and 04's Keras callbacks."""
    callbacks = [
        keras.callbacks.BackupAndRestore(str(folder / "backup"), save_freq="epoch", double_checkpoint=True),
        keras.callbacks.ModelCheckpoint(
            str(folder / "best.keras"), monitor="val_accuracy", mode="max", save_best_only=True
        ),
        keras.callbacks.TensorBoard(log_dir=str(folder / "logs"), write_graph=False),
    ]
    return {"validation_data": (data.x_test, data.y_test), "callbacks": callbacks}


def settings(args) -> dict:
    data = load_dataset("mnist", args.data_source)
    x, y = data.x_train[: args.images], data.y_train[: args.images]
    cases = settings_cases(args.groups)
    if (
        args.recommended_only
    ):  # the default against the setting recommended: one full epoch each, for instance
        cases = [
            c for c in cases if c.settings in ({}, {"steps_per_execution": 64}) and "scale" not in c.name
        ]
    folders = tempfile.TemporaryDirectory()
    keywords = {}
    for number, case in enumerate(cases):  # build and trace every model first: the timed runs are steady
        case.model = compiled(case.build, args.seed, **case.settings)
        # a last partial batch as in the timed runs: one with another shape would be traced again there
        warm = 2 * case.batch_size * case.settings.get("steps_per_execution", 1) + len(x) % case.batch_size
        keywords[case.name] = cell_04_keywords(data, Path(folders.name, str(number))) if case.cell else {}
        case.model.fit(x[:warm], y[:warm], batch_size=case.batch_size, verbose=0, **keywords[case.name])
        print(f"traced: {case.name}", flush=True)
    for repeat in range(args.repeats):
        for case in cases:
            fit = partial(case.model.fit, x, y, batch_size=case.batch_size, verbose=0, **keywords[case.name])
            wall, cpu = timed_with_cpu(fit)
            case.seconds.append(wall)
            case.cpu_seconds.append(cpu)
            print(
                f"run {repeat + 1}/{args.repeats} {wall:7.2f} s (CPU {cpu:6.2f} s)  {case.name}", flush=True
            )
    folders.cleanup()

    # evaluate() on the test set, as 04 and 07 do after training and fit() does each epoch for validation
    evaluations = [(f"evaluate, batch {b}", cases[0].model, {"batch_size": b}) for b in args.eval_batches]
    spe = next((c for c in cases if c.settings == {"steps_per_execution": 64}), None)
    if spe is not None:
        evaluations.append(("evaluate, batch 32, model compiled with steps_per_execution=64", spe.model, {}))
    eval_seconds: dict[str, list[float]] = {name: [] for name, _, _ in evaluations}
    for _name, model, kwargs in evaluations:  # trace
        model.evaluate(data.x_test[:4096], data.y_test[:4096], verbose=0, **kwargs)
    for _ in range(args.repeats):
        for name, model, kwargs in evaluations:
            call = lambda m=model, k=kwargs: m.evaluate(data.x_test, data.y_test, verbose=0, **k)  # noqa: E731
            eval_seconds[name].append(timed(call))

    results = {
        "machine": {"platform": platform.platform(), "cpus": _cpus(), **versions()},
        "data": data.source,
        "training_images_per_run": len(x),
        "test_images": len(data.x_test),
        "repeats": args.repeats,
        "fit": {},
        "evaluate": {},
    }
    print(f"\nfit, one epoch on {len(x):,} images, {args.repeats} alternating runs each. Speed against the")
    print("default by the fastest run (other processes only add time), the median run, the median CPU time")
    baseline = None
    for case in cases:
        fastest, median = min(case.seconds), statistics.median(case.seconds)
        cpu = statistics.median(case.cpu_seconds)
        if case.settings == {}:
            baseline = (fastest, median, cpu)
        speeds = (baseline[0] / fastest, baseline[1] / median, baseline[2] / cpu)
        results["fit"][case.name] = {
            "seconds": case.seconds,
            "cpu_seconds": case.cpu_seconds,
            "images_per_s_fastest": len(x) / fastest,
            "speed_vs_default_fastest": speeds[0],
            "speed_vs_default_median": speeds[1],
            "speed_vs_default_cpu": speeds[2],
        }
        print(
            f"{len(x) / fastest:7,.0f} images/s  x{speeds[0]:4.2f}  median x{speeds[1]:4.2f}"
            f"  CPU x{speeds[2]:4.2f}  {case.name}"
        )
    print(f"\nevaluate on the {len(data.x_test):,} test images, {args.repeats} alternating runs each")
    first = eval_seconds[evaluations[0][0]]
    for name, seconds in eval_seconds.items():
        fastest, median = min(seconds), statistics.median(seconds)
        speed, by_median = min(first) / fastest, statistics.median(first) / median
        results["evaluate"][name] = {
            "seconds": seconds,
            "speed_vs_first_fastest": speed,
            "speed_vs_first_median": by_median,
        }
        print(f"{fastest:6.2f} s fastest  x{speed:4.2f} (median x{by_median:4.2f})  {name}")
    return results


def check(args) -> dict:
    """Same seed, ``--epochs`` epochs, steps_per_execution 1 against ``--spe``: weights and accuracies."""
    data = load_dataset("mnist", args.data_source)
    x, y = data.x_train[: args.images], data.y_train[: args.images]
    results = {"data": data.source, "training_images": len(x), "models": {}}
    models = (("lesson's model", build_cnn, 32), ("improved model", build_improved_cnn, 128))
    for name, build, batch_size in models:
        runs = {}
        for spe in (1, args.spe):
            model = compiled(build, args.seed, steps_per_execution=spe)
            history = model.fit(x, y, batch_size=batch_size, epochs=args.epochs, verbose=0)
            _, accuracy = model.evaluate(data.x_test, data.y_test, verbose=0)
            runs[spe] = (model.get_weights(), history.history["accuracy"][-1], accuracy)
        pairs = zip(runs[1][0], runs[args.spe][0], strict=True)
        largest = max(float(np.max(np.abs(a - b))) for a, b in pairs)
        scale = max(float(np.max(np.abs(a))) for a in runs[1][0])
        results["models"][name] = {
            "batch_size": batch_size,
            "largest_weight_difference": largest,
            "largest_weight": scale,
            **{f"spe {spe}": {"train accuracy": r[1], "test accuracy": r[2]} for spe, r in runs.items()},
        }
        print(
            f"{name}, batch {batch_size}, {args.epochs} epoch(s) on {len(x):,} images: largest weight "
            f"difference {largest:.3g} (largest weight {scale:.3g}); test accuracy "
            + ", ".join(f"steps_per_execution={spe}: {run[2]:.4%}" for spe, run in runs.items()),
            flush=True,
        )
    return results


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
    model = compiled(lambda: build_cnn(num_classes=data.num_classes), seed)
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
    from course_utils.params import check_params
    from course_utils.training import train_model

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


def helper(args) -> dict:
    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2: the first epoch includes tracing and is not timed")
    from course_utils.models import count_multiply_adds

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
    return results


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, run, help: str, images: int | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help)
        sub.set_defaults(run=run)
        sub.add_argument("--data-source", default="offline", help='"offline" (the sample), "full" ...')
        sub.add_argument("--seed", type=int, default=42)
        sub.add_argument("--json", type=Path, help="write the results here too")
        if images is not None:
            sub.add_argument("--images", type=int, default=images, help="training images per run")
        return sub

    sub = command("settings", settings, "steps_per_execution, jit_compile, evaluate's batch size", 16_384)
    sub.add_argument("--repeats", type=int, default=3, help="timed runs of each setting, alternating")
    sub.add_argument("--groups", nargs="+", default=["04", "07"], choices=["04", "04cell", "07"])
    sub.add_argument(
        "--recommended-only", action="store_true", help="time only the default and steps_per_execution=64"
    )
    sub.add_argument("--eval-batches", nargs="+", type=int, default=[32, 256, 1024])
    sub = command("check", check, "steps_per_execution changes no result", 4_096)
    sub.add_argument("--spe", type=int, default=64, help="the steps_per_execution compared with 1")
    sub.add_argument("--epochs", type=int, default=1)
    sub = command("helper", helper, "plain model.fit against the course's training helper")
    sub.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is not timed)")
    sub.add_argument("--repeats", type=int, default=3, help="runs of each way, alternating")
    sub.add_argument("--batch-size", type=int, default=32)
    sub.add_argument(
        "--tile",
        type=int,
        default=1,
        help="repeat the training images this many times (15 makes the 4,000-image sample as long as MNIST)",
    )
    sub.add_argument("--course", action="store_true", help="also time the whole course run (CI parameters)")
    args = parser.parse_args(argv)
    results = args.run(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
