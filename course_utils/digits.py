"""Your own digit: prepare any picture of a digit the way MNIST's were made, and ask the model about it.

MNIST's digits were scanned, made light ink on black, cropped to their ink, scaled to fit a 20 x 20 box
(antialiased), and placed in a 28 x 28 image with their centre of mass in the middle. ``preprocess_image``
does the same to a photo, a scan, a drawing or an array, so the model sees the kind of input it learned.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from course_utils import plots
from course_utils.i18n import _
from course_utils.params import CourseParams

MNIST_SIZE = 28  # the image the model takes: 28 x 28 pixels
BOX_SIZE = 20  # MNIST scaled each digit to fit a 20 x 20 box...
CENTRE = 14.0  # ...and moved its centre of mass here (row, column): MNIST's own average is (14.0, 14.0)
SAMPLE_DIR = Path(__file__).resolve().parent / "sample_digits"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Cleaning happens at a moderate resolution: big photos shrink to it, tiny images grow to it.
WORK_MIN, WORK_MAX = 200, 600
LOAD_MAX = 1200  # larger image files are shrunk to this (long side) as they are read
MAX_IMAGE_PIXELS = 89_478_485  # larger files are refused before decoding: Pillow's own default limit
MIN_CONTRAST = 0.08  # ink must differ from the paper by at least 8% of the grey range
# Stroke width once scaled (pixels of the 28 x 28 image): MNIST's are 1.9 to 4.1 px (5th to 95th
# percentile). Thinner strokes (a fine pen, a big photo) are thickened, wider ones (a wide pen) thinned.
MIN_STROKE, TARGET_STROKE = 1.8, 2.6
MAX_STROKE, THINNED_STROKE = 5.0, 3.0


class DigitImageError(ValueError):
    """An image that cannot be turned into a digit (not an image, empty, no ink); the message names it."""


@dataclasses.dataclass(frozen=True)
class PreprocessingStep:
    """One stage of ``preprocessing_steps``: its name, the image after it, and what it did."""

    name: str
    image: np.ndarray
    note: str = ""


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return _("the array of shape {shape}").format(shape=np.shape(source))


def _open_file(path: Path, *, decode: bool = True) -> Image.Image | None:
    """The image in ``path`` (its first frame), or with ``decode=False`` only its checks (header only)."""
    if not path.exists():
        raise FileNotFoundError(
            _("{path}: no such file; image_path must name an image file (PNG or JPEG)").format(path=path)
        )
    if path.stat().st_size == 0:
        raise DigitImageError(_("{path} is empty (0 bytes): not an image").format(path=path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # refused, not only warned about
            with Image.open(path) as opened:  # reads the header only, and checks the size against the limit
                if not decode:
                    return None
                opened.load()
                return ImageOps.exif_transpose(opened)  # phone photos: apply the camera's rotation
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DigitImageError(
            _(
                "{path} is too large ({error}), more than the {limit:.0f} megapixels the course reads. "
                "Shrink or crop it and try again"
            ).format(path=path, error=exc, limit=MAX_IMAGE_PIXELS / 1e6)
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:  # not an image, or corrupt
        raise DigitImageError(
            _("{path} could not be read as an image ({error})").format(path=path, error=exc)
        ) from exc


def check_image_file(path: str | os.PathLike) -> None:
    """Raise now, before any model is loaded, if ``path`` is not an image file the course can read (missing,
    empty, not an image, or too large); reads the file's header only."""
    _open_file(Path(path).expanduser(), decode=False)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """Pixels: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; a camera-sized photo shrinks to LOAD_MAX."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        image, top = image.convert("I") if image.mode != "F" else image, 1.0  # scaled by _to_unit_range
    elif "A" in image.getbands() or "transparency" in image.info:
        image, top = image.convert("RGBA"), 255.0
    elif image.mode in ("1", "L"):
        image, top = image.convert("L"), 255.0
    else:
        image, top = image.convert("RGB"), 255.0
    if max(image.size) > LOAD_MAX:  # 12 megapixels as float64 would take 300 MB; cleaning needs far fewer
        f = LOAD_MAX / max(image.size)
        size = (max(1, round(image.size[0] * f)), max(1, round(image.size[1] * f)))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(image, dtype=np.float64) / top


def _to_unit_range(x: np.ndarray, name: str) -> np.ndarray:
    """Floats in [0, 1] from bool, 8- or 16-bit integers, or floats in [0, 1] or [0, 255]."""
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        x = np.array([np.nan])
    if not np.all(np.isfinite(x)) or x.min(initial=0) < 0:
        raise DigitImageError(
            _("{name} is not an image: pixels must be finite numbers, 0 or more").format(name=name)
        )
    top = float(x.max(initial=0))
    return x if top <= 1.0 else x / (255.0 if top <= 255 else 65535.0 if top <= 65535 else top)


def load_image(source: Any) -> np.ndarray:
    """Any supported source as floats in [0, 1]: (H, W) grey or (H, W, 3) RGB, transparency removed.

    ``source`` is a file path (PNG, JPEG, ...), a PIL image, or an array (H, W), (H, W, 1), (H, W, 3) or
    (H, W, 4). Raises ``DigitImageError`` naming the source when it is not an image or has no pixels.
    """
    name = _describe(source)
    if isinstance(source, (str, os.PathLike)):
        source = _open_file(Path(source).expanduser())
    x = _pil_to_array(source) if isinstance(source, Image.Image) else np.asarray(source)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] not in (3, 4)):
        raise DigitImageError(
            _("{name} is not an image: expected (H, W), (H, W, 3) or (H, W, 4) pixels").format(name=name)
        )
    if x.size == 0:
        raise DigitImageError(_("{name} has no pixels (zero width or height)").format(name=name))
    x = _to_unit_range(x, name)
    if x.ndim == 3 and x.shape[-1] == 4:
        x = _flatten_alpha(x)
    return x


def _flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """Lay a transparent image on paper that contrasts with its content (dark ink -> white paper)."""
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    if alpha.min() >= 1.0:
        return rgb
    visible = alpha[..., 0] > 0.5
    content = _grey(rgb)[visible]
    paper = 1.0 if content.size == 0 or np.median(content) < 0.5 else 0.0
    return rgb * alpha + paper * (1.0 - alpha)


def _grey(x: np.ndarray) -> np.ndarray:
    """Luminance as PIL's "L" mode computes it (ITU-R 601); a grey image passes through."""
    if x.ndim == 2:
        return x
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def _resize(x: np.ndarray, f: float) -> np.ndarray:
    """An antialiased (Lanczos) resize of a float image by the factor ``f``, as MNIST's normalisation did."""
    size = (max(1, round(x.shape[1] * f)), max(1, round(x.shape[0] * f)))
    image = Image.fromarray(x.astype(np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.float64)


def _working_size(grey: np.ndarray) -> np.ndarray:
    long_side = max(grey.shape)
    target = min(max(long_side, WORK_MIN), WORK_MAX)
    return grey if target == long_side else np.clip(_resize(grey, target / long_side), 0.0, 1.0)


def ink_is_dark(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper: the border is paper, the ink the extreme farther from it."""
    b = max(1, round(0.03 * min(grey.shape)))
    border = [grey[:b].ravel(), grey[-b:].ravel(), grey[:, :b].ravel(), grey[:, -b:].ravel()]
    paper = float(np.median(np.concatenate(border)))
    smooth = ndimage.gaussian_filter(grey, 1.0)
    darkest, lightest = np.percentile(smooth, [0.1, 99.9])
    return paper - darkest > lightest - paper


def _background(x: np.ndarray) -> np.ndarray:
    """The paper's brightness under uneven light and shadows.

    With the ink light, a grey-level opening (a minimum then a maximum over a window wider than any stroke)
    wipes out the strokes and keeps the slowly varying paper; smoothing it removes the window's blockiness.
    """
    size = max(9, round(0.25 * min(x.shape)))
    smooth = ndimage.gaussian_filter(x, 1.0)
    paper = ndimage.grey_opening(smooth, size=(size, size), mode="nearest")
    paper = ndimage.uniform_filter(paper, size=size // 2 + 1, mode="nearest")
    return paper + float(np.median(x - paper))  # the opening sits at the noise's low end, not its middle


def _clean(ink_light: np.ndarray, name: str) -> tuple[np.ndarray, str]:
    """Remove the paper (lighting, texture, noise) and keep the ink, scaled so its strokes reach 1."""
    ink = ndimage.gaussian_filter(ink_light - _background(ink_light), 0.7)  # a light blur lowers the noise
    sigma = 1.4826 * float(np.median(np.abs(ink - np.median(ink))))  # the paper's noise (robust std)
    candidates = ink > max(MIN_CONTRAST, 6 * sigma)
    min_area = max(20, round(1e-4 * ink.size))
    labels, count = ndimage.label(candidates, structure=np.ones((3, 3)))
    areas = ndimage.sum_labels(candidates, labels, np.arange(1, count + 1)) if count else np.zeros(0)
    if count == 0 or areas.max() < min_area:
        raise DigitImageError(
            _(
                "no ink found in {name}: it looks blank (one colour, or only noise). Use a picture of one "
                "dark digit on light paper (or light on dark) that fills a good part of the image"
            ).format(name=name)
        )
    strong = np.isin(labels, 1 + np.flatnonzero(areas >= 0.05 * areas.max()))
    peak = float(np.percentile(ink[strong], 90))
    v = np.clip(ink / peak, 0.0, 1.0)
    threshold = float(np.clip(4 * sigma / peak, 0.15, 0.5))
    v = np.clip((v - threshold) / (1 - threshold), 0.0, 1.0)
    # Keep only the pieces of ink that carry weight: specks of dirt or noise would stretch the crop.
    labels, count = ndimage.label(v > 0, structure=np.ones((3, 3)))
    mass = ndimage.sum_labels(v, labels, np.arange(1, count + 1))
    v = np.where(np.isin(labels, 1 + np.flatnonzero(mass >= 0.05 * mass.max())), v, 0.0)
    return _normalise_stroke(v)


def _bounding_box(v: np.ndarray) -> tuple[slice, slice]:
    rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def stroke_width(v: np.ndarray) -> float:
    """The ink's typical stroke width in pixels: 4 x the mean distance from an ink pixel to the paper."""
    mask = np.pad(v > 0.5, 1)
    if not mask.any():
        return 0.0
    return 4.0 * float(ndimage.distance_transform_edt(mask)[mask].mean())


def _disk(radius: float) -> np.ndarray:
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx * xx + yy * yy <= radius * radius + 0.5


def _normalise_stroke(v: np.ndarray) -> tuple[np.ndarray, str]:
    """Make the strokes as wide as MNIST's once scaled to the 20 x 20 box: stroke width relative to the digit.

    Strokes that would come out thinner than MNIST's are thickened; strokes that would come out thicker (a
    20-pixel pen on a digit drawn a fifth of the pad's size) are thinned, so the digit does not fill in.
    """
    rows, cols = _bounding_box(v)
    scale = BOX_SIZE / max(rows.stop - rows.start, cols.stop - cols.start)
    width = stroke_width(v) * scale
    if width < MIN_STROKE:
        radius = (TARGET_STROKE - width) / (2 * scale)
        v = ndimage.grey_dilation(np.pad(v, int(np.ceil(radius)) + 1), footprint=_disk(radius))
        return v, f"strokes thickened ({width:.1f} -> {TARGET_STROKE:.1f} px)"
    if width > MAX_STROKE:
        radius = (width - THINNED_STROKE) / (2 * scale)
        thinned = ndimage.grey_erosion(v, footprint=_disk(radius))
        if thinned.max() > 0:
            return thinned, f"strokes thinned ({width:.1f} -> {THINNED_STROKE:.1f} px)"
    return v, ""


def _scale_to_box(crop: np.ndarray) -> np.ndarray:
    small = np.clip(_resize(crop, BOX_SIZE / max(crop.shape)), 0.0, None)
    return small / small.max() if small.max() > 0 else small


def _centre(small: np.ndarray) -> np.ndarray:
    """Place in 28 x 28 with the centre of mass at (14, 14), moving by whole pixels as MNIST did."""
    h, w = small.shape
    cy, cx = ndimage.center_of_mass(small)
    top = int(np.clip(round(CENTRE - cy), 0, MNIST_SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, MNIST_SIZE - w))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE))
    out[top : top + h, left : left + w] = small
    return out


def preprocessing_steps(source: Any) -> list[PreprocessingStep]:
    """Every stage of ``preprocess_image`` in order, for showing (and checking) what each step does.

    original -> grey -> ink light on dark -> cleaned -> cropped -> scaled to 20 x 20 -> centred in 28 x 28.
    """
    name = _describe(source)
    original = load_image(source)
    grey = _working_size(_grey(original))
    steps = [
        PreprocessingStep("original", original, f"{original.shape[1]}x{original.shape[0]}"),
        PreprocessingStep("grey", grey, f"{grey.shape[1]}x{grey.shape[0]}"),
    ]
    if ink_is_dark(grey):
        light = 1.0 - grey
        steps.append(PreprocessingStep("inverted", light, "dark ink made light"))
    else:
        light = grey
        steps.append(PreprocessingStep("not inverted", light, "ink already light"))
    cleaned, note = _clean(light, name)
    steps.append(PreprocessingStep("cleaned", cleaned, note or "paper removed"))
    rows, cols = _bounding_box(cleaned)
    crop = cleaned[rows, cols]
    steps.append(PreprocessingStep("cropped", crop, f"{crop.shape[1]}x{crop.shape[0]}"))
    small = _scale_to_box(crop)
    steps.append(PreprocessingStep("scaled", small, f"{small.shape[1]}x{small.shape[0]}"))
    steps.append(PreprocessingStep("centred", _centre(small), "28x28"))
    return steps


def preprocess_image(source: Any) -> np.ndarray:
    """An image of one digit as the model's input, made the way MNIST was: float32 (28, 28, 1) in [0, 1].

    ``source``: a file path (PNG, JPEG, ...; any size, colour or grey), a PIL image, or an array (H, W),
    (H, W, 3) or (H, W, 4); dark ink on light paper or the reverse. Raises ``DigitImageError`` (a
    ``ValueError``) naming the source when it is not an image, is empty, or has no ink.
    """
    return preprocessing_steps(source)[-1].image.astype(np.float32)[..., None]


def predict_digit(model: Any, image: Any) -> tuple[np.ndarray, int]:
    """The model's probabilities for one image and its predicted class: ``(probabilities, predicted)``.

    ``image`` is a prepared input (float (28, 28) or (28, 28, 1) in [0, 1]) or anything ``preprocess_image``
    takes, which is prepared first. The model returns logits; softmax turns them into probabilities.
    """
    import keras

    prepared = isinstance(image, np.ndarray) and image.dtype.kind == "f" and image.size == MNIST_SIZE**2
    x = image if prepared else preprocess_image(image)
    x = np.asarray(x, dtype=np.float32).reshape(1, MNIST_SIZE, MNIST_SIZE, 1)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(model(x, training=False)))[0]
    return probabilities, int(np.argmax(probabilities))


def sample_digit_paths() -> list[Path]:
    """The sample digit images shipped with course_utils, sorted; each name starts ``digit_<label>_``."""
    return sorted(p for p in SAMPLE_DIR.glob("digit_*") if p.suffix.lower() in IMAGE_SUFFIXES)


def label_from_filename(path: str | Path) -> int:
    """The true digit of a sample image from its name: ``digit_3_dark-on-light.png`` -> 3."""
    return int(re.match(r"digit_(\d)_", Path(path).name).group(1))


def show_preprocessing_steps(source: Any) -> Figure:
    """One image through every preprocessing step, left to right, each titled with what it did."""
    steps = preprocessing_steps(source)
    titles = [f"{step.name}\n{step.note}" for step in steps]
    fig, _axes = plots._grid([step.image for step in steps], titles, None, len(steps), vrange=(0, 1))
    fig.suptitle("From a picture to the model's input, as MNIST was made", fontsize=10)
    return fig


def show_digit_files(
    paths: Sequence[str | Path], titles: Sequence[str] | None = None, cols: int = 8
) -> Figure:
    """Image files as they are (before any preprocessing) in a grid, titled with their names or ``titles``."""
    titles = titles if titles is not None else [Path(p).stem for p in paths]
    return plots._grid([load_image(p) for p in paths], titles, None, min(cols, len(paths)), vrange=(0, 1))[0]


def mnist_params(params: CourseParams) -> CourseParams:
    """Parameters for reading digits: MNIST whatever the course's dataset, so the model knows digits (its
    saved model sits beside the other dataset's). A given ``image_path`` is checked first, so a file that
    cannot be read fails before the model loads."""
    if params.image_path:
        check_image_file(params.image_path)
    if params.dataset != "mnist":
        print(
            _("Digits need an MNIST model, not a {dataset} one: using MNIST.").format(dataset=params.dataset)
        )
    return params if params.dataset == "mnist" else dataclasses.replace(params, dataset="mnist")
