"""Writing IDX files, the format MNIST and Fashion-MNIST are published in, for the data tests' own copies.

Only the tests write IDX files (``course_utils.data.read_idx`` reads them), so the writer lives here.
"""

import gzip
import os
import struct

import numpy as np


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())
