"""Make the Fashion-MNIST sample shipped in course_utils/fashion_mnist_sample (run from the course folder).

    .venv/bin/python tools/make_fashion_sample.py SOURCE_FOLDER

SOURCE_FOLDER holds the four published IDX files (Zalando's, or Debian's repack in
/usr/share/datasets/fashion-mnist); each is used only if its SHA-256 is a published one. The sample takes,
with a fixed seed, 400 images of each class from the training set and 100 of each class from the test set
(4,000 / 1,000 images, real and unchanged), shuffles each part, and writes them as uint8 arrays into a
compressed .npz whose bytes are the same on every run (fixed order, fixed time stamps). It prints the file's
SHA-256, which ``course_utils.data.FASHION_SAMPLE_SHA256`` must hold.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from course_utils.data import DATASETS, FASHION_SAMPLE_FILE, IDX_FILES, read_idx
from course_utils.sources import sha256_of, verify_file

SEED = 2017  # the year Fashion-MNIST was published
TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100
OUTPUT = Path(__file__).resolve().parents[1] / "course_utils" / FASHION_SAMPLE_FILE


def stratified_pick(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` items of every class, chosen at random, then shuffled together."""
    chosen = [rng.choice(np.flatnonzero(labels == k), per_class, replace=False) for k in np.unique(labels)]
    return rng.permutation(np.concatenate(chosen))


def write_reproducible_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed``, but with fixed time stamps, so the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)


def make_sample(source: Path, output: Path = OUTPUT) -> Path:
    """Verify the published files in ``source`` and write the sample to ``output``."""
    spec = DATASETS["fashion_mnist"]
    for name in IDX_FILES:
        verify_file(source / name, spec.checksums[name])
    x_train, y_train, x_test, y_test = (read_idx(source / name) for name in IDX_FILES)
    rng = np.random.default_rng(SEED)
    train = stratified_pick(y_train, TRAIN_PER_CLASS, rng)
    test = stratified_pick(y_test, TEST_PER_CLASS, rng)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_reproducible_npz(
        output,
        {
            "x_train": x_train[train],
            "y_train": y_train[train],
            "x_test": x_test[test],
            "y_test": y_test[test],
        },
    )
    return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding the four published IDX .gz files")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"where to write (default {OUTPUT})")
    args = parser.parse_args()
    path = make_sample(args.source, args.output)
    print(f"wrote {path}: {path.stat().st_size:,} bytes, SHA-256 {sha256_of(path)}")


if __name__ == "__main__":
    main()
