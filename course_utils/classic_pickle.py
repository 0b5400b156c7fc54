"""The classic ``mnist.pkl.gz``, read safely: an unpickler that builds NumPy arrays and nothing else.

The file is the Python 2 pickle ``((train_x, train_y), (valid_x, valid_y), (test_x, test_y))`` of float32
pixels equal to ``uint8 / 256``. A pickle may name any function to call while it loads, so this reader allows
only the three names NumPy needs to rebuild a plain array; anything else stops the load before it is called.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle

import numpy as np

from course_utils.i18n import _

try:  # NumPy 2 moved the module; pickles written by NumPy 1 (and Python 2) name the old one.
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1
    from numpy.core.multiarray import _reconstruct

# Far above the real file's 220 MB once decompressed; a larger stream is refused, not read into memory.
MAX_DECOMPRESSED_BYTES = 400 * 1024 * 1024


class UnsafePickleError(ValueError):
    """The pickle holds something other than the classic MNIST arrays; nothing in it was run."""


def _dtype(*args) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError(
            _("it asks for an array of Python objects ({dtype})").format(dtype=dtype)
        )
    return dtype


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Resolves only the names a plain NumPy array needs; every other name is refused, never imported."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _dtype,
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                _("it asks for {name}; only NumPy arrays are allowed").format(name=f"{module}.{name}")
            ) from None


class _BoundedReader(io.RawIOBase):
    """A read-only stream that refuses to deliver more than ``limit`` bytes (a guard against gzip bombs)."""

    def __init__(self, stream, limit: int):
        self._stream, self._left = stream, limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(min(len(buffer), self._left + 1))
        if len(data) > self._left:
            raise pickle.UnpicklingError(
                _("it holds more than {limit:,} bytes").format(limit=MAX_DECOMPRESSED_BYTES)
            )
        self._left -= len(data)
        buffer[: len(data)] = data
        return len(data)


def _pixels_as_bytes(x: np.ndarray, where: str) -> np.ndarray:
    """``rint(x * 256)`` as uint8 (N, 28, 28), refusing values that are not exactly a byte / 256."""
    scaled = np.asarray(x, dtype=np.float32) * np.float32(256)  # exact: 256 is a power of two
    recovered = np.rint(scaled)
    if (
        recovered.min(initial=0) < 0
        or recovered.max(initial=0) > 255
        or not np.array_equal(scaled, recovered)
    ):
        raise UnsafePickleError(
            _("{where}: the pixels are not the classic file's byte / 256 values").format(where=where)
        )
    return recovered.astype(np.uint8).reshape(-1, 28, 28)


def _check_layout(data, where: str) -> None:
    def is_pair(item) -> bool:
        return isinstance(item, tuple) and len(item) == 2

    if not (isinstance(data, tuple) and len(data) == 3 and all(is_pair(part) for part in data)):
        raise UnsafePickleError(
            _("{where}: not the classic layout ((train), (valid), (test)) of array pairs").format(where=where)
        )
    for x, y in data:
        if type(x) is not np.ndarray or type(y) is not np.ndarray:
            raise UnsafePickleError(_("{where}: holds something other than NumPy arrays").format(where=where))
        if x.dtype.kind != "f" or x.ndim != 2 or x.shape[1] != 784 or y.dtype.kind not in "iu" or y.ndim != 1:
            raise UnsafePickleError(
                _("{where}: arrays of the wrong type or shape ({dtype} {shape})").format(
                    where=where, dtype=x.dtype, shape=x.shape
                )
            )
        if len(x) != len(y) or (y.size and (y.min() < 0 or y.max() > 9)):
            raise UnsafePickleError(_("{where}: labels that do not fit the images").format(where=where))


def read_classic_mnist(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read ``mnist.pkl.gz`` into uint8 arrays: x_train (train + valid, in order), y_train, x_test, y_test.

    Raises ``UnsafePickleError`` when the file asks for anything but NumPy arrays (nothing in it is called)
    or does not have the classic layout. The caller checks the arrays' hashes before using them.
    """
    where = str(path)
    try:
        with gzip.open(path, "rb") as stream:
            bounded = io.BufferedReader(_BoundedReader(stream, MAX_DECOMPRESSED_BYTES), 1 << 20)
            data = _ArraysOnlyUnpickler(bounded, encoding="latin1").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        gzip.BadGzipFile,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
    ) as exc:
        raise UnsafePickleError(
            _("{where} was refused: {reason}. Nothing in it was run; the file was left untouched.").format(
                where=where, reason=exc
            )
        ) from None
    _check_layout(data, where)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = data
    return {
        "x_train": _pixels_as_bytes(np.concatenate([train_x, valid_x]), where),
        "y_train": np.concatenate([train_y, valid_y]).astype(np.uint8),
        "x_test": _pixels_as_bytes(test_x, where),
        "y_test": test_y.astype(np.uint8),
    }
