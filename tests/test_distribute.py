"""Distributed training and mixed precision: real strategies, real training, real worker processes.

Logical CPU devices and MultiWorkerMirroredStrategy must be set up before TensorFlow starts its runtime,
so those tests run in fresh Python processes; the rest run here.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from course_utils.data import load_sample
from course_utils.distribute import (
    GPU_BATCH_SIZE,
    build_cnn_for_policy,
    global_batch_size,
    make_strategy,
    mixed_precision_policy,
    split_cpu,
    suggested_batch_size,
    train_custom_loop,
)
from course_utils.env import set_seed
from course_utils.models import build_cnn
from course_utils.params import check_params
from course_utils.training import train_with_strategy

WORKER = Path(__file__).with_name("multiworker_worker.py")
TIMEOUT_S = 180  # generous: the machine running the tests may be shared


def _env_without_tf_config() -> dict:
    return {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}


# --- strategies ---------------------------------------------------------------------------------------
def test_make_strategy_refuses_a_bad_name():
    with pytest.raises(ValueError, match=r"strategy must be one of .*'multiworker'.*got 'tpu'"):
        make_strategy("tpu")


@pytest.mark.parametrize(
    "tf_config",
    [None, "{cluster", '{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}',
     '{"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 1}}',
     '{"cluster": {"worker": ["127.0.0.1:1"]}}'],
    ids=["missing", "not-json", "no-workers", "index-too-large", "no-task"],
)  # fmt: skip
def test_multiworker_needs_a_well_formed_tf_config(monkeypatch, tf_config):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match="strategy 'multiworker' needs TF_CONFIG") as info:
        make_strategy("multiworker")
    assert '"task": {"type": "worker", "index": 0}' in str(info.value)


def test_default_and_auto_strategies_and_the_global_batch(capsys):
    import tensorflow as tf

    strategy = make_strategy("default")
    assert strategy is tf.distribute.get_strategy() and strategy.num_replicas_in_sync == 1
    assert capsys.readouterr().out == "Strategy: default (one device, no distribution), 1 replica in sync\n"
    assert global_batch_size(32, strategy) == 32

    several_gpus = len(tf.config.list_physical_devices("GPU")) > 1
    auto = make_strategy("auto")
    assert capsys.readouterr().out.startswith(
        "Strategy: MirroredStrategy" if several_gpus else "Strategy: default"
    )
    assert global_batch_size(32, auto) == 32 * auto.num_replicas_in_sync


def test_split_cpu_explains_when_tensorflow_has_already_started(capsys):
    import tensorflow as tf

    started = len(tf.config.list_logical_devices("CPU"))  # starts the runtime, if nothing here had yet
    assert split_cpu(started + 1) == started
    assert "Restart the kernel and call split_cpu" in capsys.readouterr().out


MIRRORED_SCRIPT = """
import dataclasses, json
import numpy as np
import course_utils
course_utils.quiet_tensorflow_logs()
from course_utils.distribute import split_cpu
from course_utils.training import train_with_strategy
print("logical CPUs:", split_cpu(2))
from course_utils.data import load_sample
from course_utils.params import check_params
data = load_sample()
data = dataclasses.replace(data, x_train=data.x_train[:512], y_train=data.y_train[:512],
                           x_test=data.x_test[:128], y_test=data.y_test[:128])
trained = train_with_strategy(check_params(strategy="mirrored", epochs=2, batch_size=32, seed=3), data)
copies_equal = all(
    all(np.array_equal(v.value.values[0].numpy(), c.numpy()) for c in v.value.values)
    for v in trained.model.trainable_variables
)
devices = sorted({c.device for v in trained.model.trainable_variables for c in v.value.values})
print(json.dumps({**trained.metadata, "loss": trained.history["loss"], "devices": devices,
                  "copies_equal": copies_equal}))
"""


@pytest.mark.slow
def test_mirrored_strategy_fits_across_two_logical_cpus(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED_SCRIPT],
        cwd=tmp_path,
        env=_env_without_tf_config(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "logical CPUs: 2"
    assert lines[1].startswith("Strategy: MirroredStrategy (CPU:0, CPU:1), 2 replicas in sync")
    result = json.loads(lines[-1])
    assert result["strategy"] == "MirroredStrategy" and result["loop"] == "fit"
    assert result["replicas"] == 2 and result["global_batch"] == 64  # 32 per replica
    assert [d.rsplit(":", 2)[-2:] for d in result["devices"]] == [["CPU", "0"], ["CPU", "1"]]
    assert result["copies_equal"]  # the all-reduce kept both replicas' weights identical
    first, second = result["loss"]
    assert second < first


# --- multi-worker ---------------------------------------------------------------------------------------
def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_two_workers_train_to_identical_weights(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    try:
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            env = {**_env_without_tf_config(), "TF_CONFIG": json.dumps(tf_config)}
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(WORKER), str(tmp_path / f"worker{index}.npz")],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        deadline = time.monotonic() + TIMEOUT_S
        outputs = [p.communicate(timeout=max(1.0, deadline - time.monotonic())) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for index, (p, (out, err)) in enumerate(zip(processes, outputs, strict=True)):
        assert p.returncode == 0, f"worker {index}: {err[-3000:]}"
        assert f"MultiWorkerMirroredStrategy (worker {index} of 2), 2 replicas in sync" in out

    first, second = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert int(first["replicas"]) == 2 and int(first["global_batch"]) == 64  # 32 per replica
    assert str(first["loop"]) == "custom"  # train_with_strategy's choice under multiworker
    np.testing.assert_array_equal(first["loss"], second["loss"])  # the loss was reduced across workers
    names = sorted(k for k in first.files if k.startswith("final_"))
    assert len(names) == 8  # kernel and bias of 4 layers
    for name in names:
        np.testing.assert_array_equal(first[name], second[name])
        assert not np.array_equal(first[name], first[name.replace("final", "initial")]), name


# --- mixed precision and the custom loop ------------------------------------------------------------------
def test_mixed_precision_policy_is_restored_even_after_an_error():
    before = keras.mixed_precision.global_policy().name
    with mixed_precision_policy(True) as inside:
        assert inside == keras.mixed_precision.global_policy().name == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == before
    with pytest.raises(RuntimeError), mixed_precision_policy(True):
        raise RuntimeError("boom")
    assert keras.mixed_precision.global_policy().name == before
    with mixed_precision_policy(False) as inside:
        assert inside == before


def test_logits_stay_float32_under_mixed_precision():
    with mixed_precision_policy(True):
        plain = build_cnn()
        model = build_cnn_for_policy()
    assert plain.layers[-1].compute_dtype == "float16"  # why build_cnn_for_policy exists
    assert [layer.name for layer in model.layers] == [layer.name for layer in plain.layers]
    assert model.count_params() == 121_930  # the lesson's model's count
    assert {layer.compute_dtype for layer in model.layers[:-1]} == {"float16"}
    assert {v.dtype for v in model.weights} == {"float32"}  # the master weights
    assert model.layers[-1].compute_dtype == "float32"
    logits = model(np.zeros((2, 28, 28, 1), "float32"))
    assert logits.dtype == "float32" and tuple(logits.shape) == (2, 10)
    assert {layer.compute_dtype for layer in build_cnn_for_policy().layers} == {"float32"}


def test_custom_loop_trains_under_mixed_precision_with_loss_scaling():
    data = load_sample()
    x, y = data.x_train[:192], data.y_train[:192]
    strategy = make_strategy("default")
    set_seed(0)
    with mixed_precision_policy(True):
        trained = train_custom_loop(strategy, build_cnn_for_policy, (x, y), 2, 64, 1e-3, 0, verbose=False)
    assert trained.metadata == {"strategy": "default", "replicas": 1, "global_batch": 64, "loop": "custom"}
    assert trained.history["loss"][1] < trained.history["loss"][0]
    assert all(0 <= a <= 1 for a in trained.history["accuracy"])
    assert trained.model.layers[-1].compute_dtype == "float32"


def test_train_with_strategy_fits_under_mixed_precision_with_loss_scaling(tmp_path):
    data = load_sample()
    data = dataclasses.replace(
        data,
        x_train=data.x_train[:128],
        y_train=data.y_train[:128],
        x_test=data.x_test[:32],
        y_test=data.y_test[:32],
    )
    before = keras.mixed_precision.global_policy().name
    params = check_params(strategy="default", epochs=1, mixed_precision=True, artifacts_dir=str(tmp_path))
    trained = train_with_strategy(params, data)
    expected = {"strategy": "default", "replicas": 1, "global_batch": 32, "loop": "fit", "dataset": "mnist"}
    assert expected.items() <= trained.metadata.items()
    assert type(trained.model.optimizer).__name__ == "LossScaleOptimizer"  # added by compile
    assert trained.model.layers[0].compute_dtype == "float16"
    assert trained.model.layers[-1].compute_dtype == "float32"
    assert set(trained.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert np.isfinite(trained.history["loss"][0])
    assert keras.mixed_precision.global_policy().name == before


def test_suggested_batch_size():
    assert GPU_BATCH_SIZE == 256
    assert suggested_batch_size(32, on_gpu=True) == 256
    assert suggested_batch_size(1024, on_gpu=True) == 1024
    assert suggested_batch_size(32, on_gpu=False) == 32
