"""keras_can_load: 01 calls the blog's load_data() only when it will not leave the learner waiting."""

import hashlib
import socket
import time

import pytest

from course_utils import keras_data
from course_utils.keras_data import keras_can_load


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras home, and a Keras server address that refuses connections (a closed local port)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()
    monkeypatch.setattr(keras_data, "KERAS_SERVER", closed)
    return tmp_path / "datasets"


def test_unreachable_server_and_empty_cache_give_no(keras_home):
    assert keras_can_load("mnist", "auto") is False
    assert keras_can_load("fashion_mnist", "full") is False


def test_a_cached_file_that_keras_accepts_gives_yes_without_the_network(keras_home, monkeypatch):
    keras_home.mkdir()
    cached = keras_home / "mnist.npz"
    cached.write_bytes(b"not the published file")
    assert keras_can_load("mnist", "auto") is False  # Keras would download again: its hash check fails
    digest = hashlib.sha256(cached.read_bytes()).hexdigest()
    monkeypatch.setitem(keras_data.KERAS_FILES, "mnist", {"mnist.npz": digest})
    assert keras_can_load("mnist", "auto") is True
    (keras_home / "fashion-mnist").mkdir()
    for name in keras_data.KERAS_FILES["fashion_mnist"]:
        (keras_home / "fashion-mnist" / name).write_bytes(b"x")  # Keras checks no hash for these
    assert keras_can_load("fashion_mnist", "full") is True


def test_offline_and_sample_never_use_keras(keras_home, monkeypatch):
    monkeypatch.setattr(keras_data, "server_answers", lambda *a, **k: pytest.fail("no network wanted"))
    for source in ("offline", "sample"):
        assert keras_can_load("mnist", source) is False


def test_a_server_that_answers_gives_yes(keras_home, monkeypatch):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(keras_data, "KERAS_SERVER", server.getsockname())
        assert keras_can_load("mnist", "auto") is True


def test_a_hanging_name_lookup_returns_no_within_the_timeout(keras_home, monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(30)
        raise OSError("the lookup gave up")  # what a real lookup does in the end

    monkeypatch.setattr(keras_data.socket, "create_connection", hang)
    start = time.monotonic()
    assert keras_can_load("mnist", "auto", timeout=0.5) is False
    assert time.monotonic() - start < 2
