"""Your own digit: prepare any picture of a digit the way MNIST's were made, and ask the model about it.

MNIST's digits were written on paper and scanned, made light ink on black, cropped to their ink, scaled to
fit a 20 x 20 box keeping their shape (antialiased, so edges became grey levels), and placed in a 28 x 28
image with their centre of mass in the middle. ``preprocess_image`` does the same to a photo, a scan, a
drawing or an array, so the model sees the kind of input it was trained on. ``drawing_pad`` is the
interactive version for JupyterLab: draw with the mouse, see the prediction after every stroke.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError
from scipy import ndimage

from course_utils import plots  # also shows returned Figures inline in Jupyter
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
# Stroke width after scaling (pixels of the 28 x 28 image): MNIST's strokes are 1.9 to 4.1 px wide (5th to
# 95th percentile, 2.8 median). A fine pen in a large photo would come out hair-thin; such strokes are
# thickened to a typical MNIST width. A wide pen on a small drawing (a digit drawn small on the drawing pad)
# would come out wider than MNIST's widest strokes, a blob: such strokes are thinned to a typical width too.
# (None of the first 200 MNIST test digits is wider than MAX_STROKE, so MNIST's own digits are left alone.)
MIN_STROKE, TARGET_STROKE = 1.8, 2.6
MAX_STROKE, THINNED_STROKE = 5.0, 3.0
NO_FRONTEND_MESSAGE = "The drawing pad needs JupyterLab: open this notebook there to draw a digit."


class DigitImageError(ValueError):
    """An image that cannot be turned into a digit (not an image, empty, no ink); the message names it."""


@dataclasses.dataclass(frozen=True)
class PreprocessingStep:
    """One stage of ``preprocessing_steps``: its name, the image after it, and what it did."""

    name: str
    image: np.ndarray
    note: str = ""


# --- reading any image into a float array ---------------------------------------------------------------


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, Image.Image):
        return f"the {source.mode} image of size {source.size[0]}x{source.size[1]}"
    return f"the array of shape {np.shape(source)}"


def _too_large(path: Path, size: tuple[int, int] | None) -> DigitImageError:
    limit = f"{MAX_IMAGE_PIXELS / 1e6:.0f} megapixels"
    what = "is too large"
    if size is not None:
        what = f"is {size[0]} x {size[1]} pixels ({size[0] * size[1] / 1e6:,.0f} megapixels)"
    return DigitImageError(
        f"{path} {what}, more than the {limit} the course reads: decoding it could fill the memory (Pillow "
        "treats such files as possible decompression bombs). Shrink or crop it to at most about 9000 x 9000 "
        "pixels (a photo of one digit needs far fewer) and try again"
    )


def _declared_size(path: Path) -> tuple[int, int] | None:
    """The width and height a file's header declares, read without decoding (Pillow's own limit lifted)."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as opened:
            return opened.size
    except Exception:
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _open_file(path: Path, *, decode: bool = True) -> Image.Image | None:
    """The image in ``path`` (its first frame), or with ``decode=False`` only its checks (header only)."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; image_path must name an image file (PNG or JPEG)")
    if path.is_dir():
        raise DigitImageError(f"{path} is a folder, not an image file")
    if path.stat().st_size == 0:
        raise DigitImageError(f"{path} is empty (0 bytes): not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # refused, not only warned about
            with Image.open(path) as opened:  # reads the header only: size and format
                if opened.size[0] * opened.size[1] > MAX_IMAGE_PIXELS:
                    raise _too_large(path, opened.size)
                if not decode:
                    return None
                frames = getattr(opened, "n_frames", 1)
                if getattr(opened, "is_animated", False) and frames > 1:
                    print(f"Note: {path} is animated ({frames} frames): only its first frame is read.")
                opened.load()
                return ImageOps.exif_transpose(opened)  # phone photos: apply the camera's rotation
    except DigitImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_large(path, _declared_size(path)) from exc
    except UnidentifiedImageError as exc:
        raise DigitImageError(f"{path} is not an image Pillow can read (PNG, JPEG, ...)") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt files
        raise DigitImageError(f"{path} could not be read as an image ({exc})") from exc


def check_image_file(path: str | os.PathLike) -> None:
    """Raise now, before any model is loaded, if ``path`` is not an image file the course can read (missing,
    empty, not an image, or too large); reads the file's header only."""
    _open_file(Path(path).expanduser(), decode=False)


def _pil_to_array(image: Image.Image) -> np.ndarray:
    """Pixels: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; a camera-sized photo shrinks to LOAD_MAX."""
    if image.mode.startswith("I;16"):
        image, top = image.convert("I"), 65535.0
    elif image.mode in ("I", "F"):
        top = 1.0  # scaled by _to_unit_range from the values themselves
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
    if x.dtype == bool:
        return x.astype(np.float64)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DigitImageError(f"{name} is not an image: pixels must be numbers, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise DigitImageError(f"{name} has NaN or infinite pixels")
    low, top = float(x.min()), float(x.max())
    if low < 0:
        raise DigitImageError(f"{name} has negative pixels (min {low:g}); pass values in [0, 1] or [0, 255]")
    if top <= 1.0:
        return x
    return x / (255.0 if top <= 255 else 65535.0 if top <= 65535 else top)


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
        raise DigitImageError(f"{name} is not an image: expected (H, W), (H, W, 3) or (H, W, 4) pixels")
    if x.size == 0:
        raise DigitImageError(f"{name} has no pixels (zero width or height)")
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


def _resize(x: np.ndarray, width: int, height: int) -> np.ndarray:
    """Antialiased resize of a float image with Lanczos filtering, as MNIST's normalisation antialiased."""
    image = Image.fromarray(x.astype(np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float64)


# --- the steps MNIST took --------------------------------------------------------------------------------


def _working_size(grey: np.ndarray) -> np.ndarray:
    h, w = grey.shape
    long_side = max(h, w)
    target = min(max(long_side, WORK_MIN), WORK_MAX)
    if target == long_side:
        return grey
    f = target / long_side
    return np.clip(_resize(grey, max(1, round(w * f)), max(1, round(h * f))), 0.0, 1.0)


def _border(x: np.ndarray) -> np.ndarray:
    b = max(1, round(0.03 * min(x.shape)))
    return np.concatenate([x[:b].ravel(), x[-b:].ravel(), x[:, :b].ravel(), x[:, -b:].ravel()])


def ink_is_dark(grey: np.ndarray) -> bool:
    """Whether the ink is darker than the paper: the border is paper, the ink the extreme farther from it."""
    paper = float(np.median(_border(grey)))
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
            f"no ink found in {name}: it looks blank (one colour, or only noise). Use a picture of one dark "
            "digit on light paper (or light on dark) that fills a good part of the image"
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
    h, w = crop.shape
    f = BOX_SIZE / max(h, w)
    small = np.clip(_resize(crop, max(1, round(w * f)), max(1, round(h * f))), 0.0, None)
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


# --- predictions -------------------------------------------------------------------------------------------


def _is_model_input(x: Any) -> bool:
    return (
        isinstance(x, np.ndarray)
        and np.issubdtype(x.dtype, np.floating)
        and x.shape in ((28, 28), (28, 28, 1), (1, 28, 28, 1))
        and x.size > 0
        and float(x.min()) >= 0.0
        and float(x.max()) <= 1.0
    )


def predict_digit(model: Any, image: Any) -> tuple[np.ndarray, int]:
    """The model's probabilities for one image and its predicted class: ``(probabilities, predicted)``.

    ``image`` is a prepared input (float (28, 28) or (28, 28, 1) in [0, 1]) or anything ``preprocess_image``
    takes, which is prepared first. The model returns logits; softmax turns them into probabilities.
    """
    import keras

    x = image if _is_model_input(image) else preprocess_image(image)
    x = np.asarray(x, dtype=np.float32).reshape(1, MNIST_SIZE, MNIST_SIZE, 1)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(model(x, training=False)))[0]
    return probabilities, int(np.argmax(probabilities))


# --- the shipped sample images -----------------------------------------------------------------------------


def sample_digit_paths() -> list[Path]:
    """The sample digit images shipped with course_utils, sorted; each name starts ``digit_<label>_``."""
    paths = sorted(p for p in SAMPLE_DIR.glob("digit_*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(
            f"no sample digits in {SAMPLE_DIR}: course_utils was installed without its images; "
            "reinstall it with `pip install -e .` from the course folder"
        )
    return paths


def label_from_filename(path: str | Path) -> int:
    """The true digit of a sample image from its name: ``digit_3_dark-on-light.png`` -> 3."""
    match = re.match(r"digit_(\d)_", Path(path).name)
    if not match:
        raise ValueError(f"{Path(path).name!r} is not named like digit_<0-9>_<description>.<png|jpg>")
    return int(match.group(1))


# --- pictures ----------------------------------------------------------------------------------------------


def show_preprocessing_steps(source: Any) -> Figure:
    """One image through every preprocessing step, left to right, each titled with what it did."""
    steps = preprocessing_steps(source)
    fig = Figure(figsize=(1.9 * len(steps), 2.6), layout="constrained")
    axes = fig.subplots(1, len(steps), squeeze=False)[0]
    for ax, step in zip(axes, steps, strict=True):
        colour = step.image.ndim == 3
        ax.imshow(
            step.image, cmap=None if colour else plots.IMAGE_CMAP, vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_title(f"{step.name}\n{step.note}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("From a picture to the model's input, as MNIST was made", fontsize=10)
    return fig


def show_digit_files(
    paths: Sequence[str | Path], titles: Sequence[str] | None = None, cols: int = 8
) -> Figure:
    """Image files as they are (before any preprocessing) in a grid, titled with their names or ``titles``."""
    if not paths:
        raise ValueError("no image paths given")
    if titles is not None and len(titles) != len(paths):
        raise ValueError(f"{len(titles)} titles for {len(paths)} images")
    cols = min(cols, len(paths))
    rows = -(-len(paths) // cols)
    fig = Figure(figsize=(1.4 * cols, 1.6 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(paths):
            image = load_image(paths[i])
            ax.imshow(image, cmap=None if image.ndim == 3 else plots.IMAGE_CMAP, vmin=0, vmax=1)
            ax.set_title(titles[i] if titles is not None else Path(paths[i]).stem, fontsize=7)
    return fig


# --- the drawing pad ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DrawingPrediction:
    """What the model makes of a drawing: the prepared 28 x 28 input, the probabilities and the answer."""

    image: np.ndarray
    probabilities: np.ndarray
    predicted: int


def predict_drawing(model: Any, pixels: Any) -> DrawingPrediction | None:
    """Canvas pixels (grey (H, W) or RGB(A), light strokes on black) to a prediction; None while blank."""
    try:
        image = preprocess_image(np.asarray(pixels))
    except DigitImageError:
        return None
    probabilities, predicted = predict_digit(model, image)
    return DrawingPrediction(image, probabilities, predicted)


class DrawingPad:
    """The drawing pad without its widgets: the strokes as pixels, and the model's answer after each stroke.

    The browser's canvas only shows the strokes; this copy in the kernel draws the same lines and is what
    gets classified, so nothing has to be sent back from the browser (and tests can draw without one).
    """

    def __init__(self, model: Any, size: int = 280, line_width: int = 20):
        self.model, self.size, self.line_width = model, size, line_width
        self.clear()

    def clear(self) -> None:
        """Start again with a black pad."""
        self._image = Image.new("L", (self.size, self.size), 0)
        self._draw = ImageDraw.Draw(self._image)
        self._last: tuple[float, float] | None = None

    @property
    def drawing(self) -> bool:
        """Whether a stroke is in progress (the mouse button is down)."""
        return self._last is not None

    @property
    def pixels(self) -> np.ndarray:
        """The pad as uint8 (size, size): white strokes on black."""
        return np.asarray(self._image).copy()

    def _dot(self, x: float, y: float) -> None:
        r = self.line_width / 2
        self._draw.ellipse((x - r, y - r, x + r, y + r), fill=255)

    def start_stroke(self, x: float, y: float) -> None:
        """The mouse button went down at (x, y): a round dot, and the start of a line."""
        self._last = (x, y)
        self._dot(x, y)

    def extend_stroke(self, x: float, y: float) -> tuple[float, float, float, float] | None:
        """The mouse moved to (x, y): draw a segment from the last point; returns it (None if not drawing)."""
        if self._last is None:
            return None
        segment = (*self._last, x, y)
        self._draw.line(segment, fill=255, width=self.line_width)
        self._dot(x, y)  # round joints and ends, as the canvas's round line caps draw them
        self._last = (x, y)
        return segment

    def end_stroke(self) -> DrawingPrediction | None:
        """The mouse button went up: the stroke is done; returns the prediction for the pad so far."""
        self._last = None
        return self.predict()

    def predict(self) -> DrawingPrediction | None:
        """The model's answer for what is drawn now; None while the pad is blank."""
        return predict_drawing(self.model, self.pixels)


def interactive_frontend_available() -> bool:
    """Whether a drawing pad can work here: ipycanvas installed, in a kernel that a browser is attached to.

    A kernel started by a Jupyter server (JupyterLab, Notebook 7) has ``JPY_SESSION_NAME`` set; papermill,
    nbval and plain Python have no browser to draw in.
    """
    try:
        import ipycanvas  # noqa: F401
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel") and bool(os.environ.get("JPY_SESSION_NAME"))


def _png(image: np.ndarray, size: int) -> bytes:
    """A 28 x 28 image in [0, 1] as PNG bytes, enlarged with square pixels so each one is visible."""
    grey = Image.fromarray(np.round(np.squeeze(image) * 255).astype(np.uint8), mode="L")
    buffer = io.BytesIO()
    grey.resize((size, size), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def drawing_pad(model: Any, class_names: Sequence[str], size: int = 280, line_width: int = 20):
    """A canvas to draw a digit on with the mouse; after each stroke it shows the 28 x 28 input and the ten
    probabilities. Returns the widget (an ``ipywidgets.HBox``; its ``pad`` attribute is the ``DrawingPad``).

    Needs a browser (JupyterLab): check ``interactive_frontend_available()`` first.
    """
    import ipywidgets as widgets
    from ipycanvas import Canvas

    pad = DrawingPad(model, size=size, line_width=line_width)
    canvas = Canvas(width=size, height=size, layout=widgets.Layout(width=f"{size}px", height=f"{size}px"))
    preview_size = 5 * MNIST_SIZE
    preview = widgets.Image(value=_png(np.zeros((MNIST_SIZE, MNIST_SIZE)), preview_size), format="png")
    preview.layout = widgets.Layout(width=f"{preview_size}px", height=f"{preview_size}px")
    headline = widgets.HTML("<b>Draw a digit</b> with the mouse.")
    bars = [widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=str(n)) for n in class_names]
    percents = [widgets.Label("") for _ in class_names]
    clear = widgets.Button(description="Clear", icon="eraser")

    def paint_background() -> None:
        canvas.fill_style = "black"
        canvas.fill_rect(0, 0, size, size)
        canvas.stroke_style = "white"
        canvas.fill_style = "white"
        canvas.line_width = line_width
        canvas.line_cap = "round"
        canvas.line_join = "round"

    def show(result: DrawingPrediction | None) -> None:
        if result is None:
            preview.value = _png(np.zeros((MNIST_SIZE, MNIST_SIZE)), preview_size)
            headline.value = "<b>Draw a digit</b> with the mouse."
        else:
            preview.value = _png(result.image, preview_size)
            name, p = class_names[result.predicted], result.probabilities[result.predicted]
            headline.value = f"The model says <b>{name}</b> ({plots.format_probability(p, 0)} sure)."
        for k, (bar, label) in enumerate(zip(bars, percents, strict=True)):
            p = 0.0 if result is None else float(result.probabilities[k])
            bar.value = p
            bar.bar_style = "info" if result is not None and k == result.predicted else ""
            label.value = "" if result is None else plots.format_probability(p, 0)

    def on_down(x: float, y: float) -> None:
        pad.start_stroke(x, y)
        canvas.fill_circle(x, y, line_width / 2)

    def on_move(x: float, y: float) -> None:
        segment = pad.extend_stroke(x, y)
        if segment is not None:
            canvas.stroke_line(*segment)

    def on_up(x: float, y: float) -> None:
        if pad.drawing:
            on_move(x, y)
            show(pad.end_stroke())

    def on_clear(_button: Any) -> None:
        pad.clear()
        paint_background()
        show(None)

    def on_client_ready() -> None:  # a browser (re)connected: it gets a blank canvas, so redraw the strokes
        paint_background()
        canvas.put_image_data(np.repeat(pad.pixels[..., None], 3, axis=2), 0, 0)

    paint_background()
    canvas.on_mouse_down(on_down)
    canvas.on_mouse_move(on_move)
    canvas.on_mouse_up(on_up)
    canvas.on_mouse_out(on_up)
    canvas.on_client_ready(on_client_ready)
    clear.on_click(on_clear)
    rows = [widgets.HBox([bar, label]) for bar, label in zip(bars, percents, strict=True)]
    spaced = widgets.Layout(margin="0 16px 0 0")
    box = widgets.HBox(
        [
            widgets.VBox([canvas, clear], layout=spaced),
            widgets.VBox([headline, preview], layout=spaced),
            widgets.VBox(rows),
        ]
    )
    box.pad, box.canvas, box.clear_button = pad, canvas, clear
    box.headline, box.preview, box.bars = headline, preview, bars
    return box


def mnist_params(params: CourseParams) -> CourseParams:
    """Parameters for reading digits: MNIST whatever the course's dataset, so the model knows digits.

    With another dataset (Fashion-MNIST, say) the MNIST model is loaded from, or trained into,
    ``artifacts_dir/mnist``, leaving that dataset's own model where the other notebooks expect it. A given
    ``image_path`` is checked first (``check_image_file``), so a file too large to read fails before the
    model loads.
    """
    if params.image_path:
        check_image_file(params.image_path)
    if params.dataset == "mnist":
        return params
    folder = Path(params.artifacts_dir) / "mnist"
    print(f"Digits need an MNIST model, not a {params.dataset} one: using MNIST, with its model in {folder}.")
    return dataclasses.replace(params, dataset="mnist", artifacts_dir=str(folder))
