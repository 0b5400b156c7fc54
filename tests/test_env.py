"""The environment helpers on this CPU-only machine, and setup_gpu's logic with simulated GPUs."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from course_utils import env


def test_versions_report_names_what_the_course_runs_on():
    report = env.versions()
    assert report["tensorflow"] == tf.__version__ and report["keras"].startswith("3.")
    assert report["python"].count(".") == 2 and report["keras_backend"] == "tensorflow"


def test_setup_gpu_without_gpu_explains_and_is_safe_twice(capsys):
    assert env.setup_gpu() == [] and env.setup_gpu() == []
    out = capsys.readouterr().out
    assert out.count("No GPU found") == 2


class FakeGPU:
    def __init__(self, name):
        self.name = name


def test_setup_gpu_turns_on_memory_growth_for_every_gpu(monkeypatch, capsys):
    gpus = [FakeGPU("/physical_device:GPU:0"), FakeGPU("/physical_device:GPU:1")]
    growth = {}
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus)
    monkeypatch.setattr(tf.config.experimental, "get_memory_growth", lambda gpu: growth.get(gpu.name, False))
    monkeypatch.setattr(
        tf.config.experimental, "set_memory_growth", lambda gpu, on: growth.update({gpu.name: on})
    )
    assert env.setup_gpu() == [g.name for g in gpus]
    assert growth == {g.name: True for g in gpus}
    assert env.setup_gpu() == [g.name for g in gpus]  # second call: already on, nothing to change
    assert "2 GPU(s) found, memory growth on" in capsys.readouterr().out


def test_setup_gpu_after_tensorflow_started_explains_instead_of_raising(monkeypatch, capsys):
    def too_late(gpu, on):
        raise RuntimeError("Physical devices cannot be modified after being initialized")

    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [FakeGPU("GPU:0")])
    monkeypatch.setattr(tf.config.experimental, "get_memory_growth", lambda gpu: False)
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", too_late)
    assert env.setup_gpu() == ["GPU:0"]
    assert "Restart the kernel" in capsys.readouterr().out


def test_set_seed_makes_python_numpy_and_tensorflow_repeat():
    import random

    def draw():
        return random.random(), np.random.rand(), float(tf.random.uniform(()))

    env.set_seed(123)
    first = draw()
    env.set_seed(123)
    assert draw() == first
    env.set_seed(124)
    assert draw() != first


def test_set_seed_refuses_a_bad_seed_as_check_params_does():
    with pytest.raises(ValueError, match=r"seed must be an integer from 0 to 2\*\*32 - 1"):
        env.set_seed(-1)


def test_quiet_tensorflow_logs_keeps_tensorflow_quiet():
    code = (
        "import course_utils; course_utils.quiet_tensorflow_logs(); "
        "import tensorflow as tf; tf.config.list_physical_devices(); print('ok')"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)
    assert result.stdout.strip() == "ok"
    assert result.stderr == "", result.stderr
