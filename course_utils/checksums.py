"""SHA-256 checks of files and of arrays: the course uses data only when it is exactly the published data.

A failed check raises ``ChecksumError`` naming the file and both hashes; the file itself is never changed.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from course_utils.i18n import _


class ChecksumError(ValueError):
    """A file's (or an array's) SHA-256 is not the published one."""


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


def array_sha256(array: np.ndarray) -> str:
    """SHA-256 of an array's bytes (``array.tobytes()``, C order)."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def verify_arrays(where: str | os.PathLike, arrays: dict[str, np.ndarray], expected: dict[str, str]) -> None:
    """Raise ``ChecksumError`` naming ``where`` and, for each array that differs, both hashes."""
    actual = {name: array_sha256(arrays[name]) if name in arrays else _("(missing)") for name in expected}
    wrong = [
        _("{name} {actual} (published {expected})").format(name=name, actual=actual[name], expected=sha)
        for name, sha in expected.items()
        if actual[name] != sha
    ]
    if wrong:
        raise ChecksumError(
            _(
                "{where}: the arrays it holds are not the published ones: SHA-256 of {arrays}. "
                "The file was left untouched and is not used; delete or replace it."
            ).format(where=where, arrays="; ".join(wrong))
        )
