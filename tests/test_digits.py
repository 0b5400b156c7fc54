"""course_utils.digits: any picture of a digit becomes an MNIST-style input, and the model reads the samples.

Test images are drawn here with a matplotlib font and made to look photographed (paper colour, uneven light,
noise), so every case is a real image file or array with a known digit in it.
"""

import struct
import warnings
import zlib
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from course_utils import digits, drawing_pad
from course_utils.data import load_dataset
from course_utils.digits import DigitImageError, preprocess_image

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans-Oblique.ttf"
CLASS_NAMES = [str(d) for d in range(10)]


def glyph(digit: int, width: int, height: int, fraction: float = 0.6, shift=(0.0, 0.0)) -> np.ndarray:
    """Coverage in [0, 1] of ``digit``, ``fraction`` of the canvas tall, its centre moved by ``shift``."""
    font = ImageFont.truetype(str(FONT), int(height * fraction * 1.3))
    mask = Image.new("L", (width, height), 0)
    centre = (width * (0.5 + shift[0]), height * (0.5 + shift[1]))
    ImageDraw.Draw(mask).text(centre, str(digit), font=font, fill=255, anchor="mm")
    return np.asarray(mask) / 255.0


def photo(mask: np.ndarray, paper, ink, seed: int = 0, noise: float = 6.0, tilt=(0.25, 0.1)) -> np.ndarray:
    """``ink`` on ``paper`` (RGB), lit unevenly (darker to one side) with camera noise: uint8 (H, W, 3)."""
    rng = np.random.default_rng(seed)
    h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    light = (1 - tilt[0] * xx - tilt[1] * yy)[..., None]
    image = np.asarray(paper) * (1 - mask[..., None]) + np.asarray(ink) * mask[..., None]
    return np.clip(image * light + rng.normal(0, noise, (h, w, 1)), 0, 255).astype(np.uint8)


def ink_box(x: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(x.any(axis=1)), np.flatnonzero(x.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def mnist_stroke_width(x: np.ndarray) -> float:
    """Stroke width of a 28 x 28 image in its pixels, measured as digits.MIN_STROKE was calibrated."""
    return digits.stroke_width(ndimage.zoom(x, 10, order=1)) / 10


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", "sample")


@pytest.fixture(scope="module")
def model(mnist):
    """The lesson's CNN trained briefly on the offline MNIST sample (about 96% test accuracy)."""
    from course_utils.env import set_seed
    from course_utils.models import build_cnn, compile_cnn

    set_seed(42)
    model = compile_cnn(build_cnn(num_classes=10))
    model.fit(mnist.x_train, mnist.y_train, epochs=5, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def reference():
    """A blue-pen 3 on cream paper, photographed: the input the other versions must match."""
    return preprocess_image(photo(glyph(3, 300, 260), (235, 230, 210), (30, 40, 120)))


# --- the MNIST recipe ---------------------------------------------------------------------------------------


def test_dark_on_light_photo_and_light_on_dark_grey_image_of_one_digit_give_the_same_input(reference):
    # Same digit, other size, other place, other colours, other lighting, grey, and light ink on a dark board.
    board = photo(glyph(3, 180, 200, fraction=0.7, shift=(0.1, -0.05)), (30, 30, 30), (230, 230, 230), 1)
    other = preprocess_image(board[..., 0])
    difference = np.abs(other - reference)
    assert difference.max() < 0.15 and difference.mean() < 0.02, (difference.max(), difference.mean())


@pytest.mark.parametrize("digit", [1, 3, 7])
def test_the_input_is_made_like_mnist(digit):
    x = preprocess_image(
        photo(glyph(digit, 320, 240, fraction=0.5, shift=(-0.2, 0.15)), (250, 250, 245), (0, 0, 0))
    )
    assert x.shape == (28, 28, 1) and x.dtype == np.float32
    assert x.min() == 0.0 and x.max() == pytest.approx(1.0)
    height, width = ink_box(x[..., 0])
    assert max(height, width) == 20 and min(height, width) <= 20  # fitted to the 20 x 20 box, shape kept
    assert np.allclose(ndimage.center_of_mass(x[..., 0]), (14, 14), atol=1.0)
    assert x[..., 0][[0, -1], :].max() == 0 and x[..., 0][:, [0, -1]].max() == 0  # paper is exactly black


def test_the_ink_is_cropped_so_size_and_position_in_the_picture_do_not_matter():
    small = preprocess_image(
        photo(glyph(5, 400, 400, fraction=0.25, shift=(0.3, 0.3)), (240,) * 3, (20,) * 3)
    )
    large = preprocess_image(photo(glyph(5, 400, 400, fraction=0.8), (240,) * 3, (20,) * 3, seed=3))
    assert np.abs(small - large).mean() < 0.03


def test_an_mnist_digit_is_already_prepared_and_the_model_reads_it_as_well_after_preprocessing(model, mnist):
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    prepared = np.stack([preprocess_image(image) for image in x])
    # Whole-pixel centring may move a digit by one pixel; aligned, the images hardly differ.
    aligned = [
        min(np.abs(np.roll(p, (dy, dx), axis=(0, 1)) - a).mean() for dy in (-1, 0, 1) for dx in (-1, 0, 1))
        for p, a in zip(prepared[:50], x[:50], strict=True)
    ]
    assert max(aligned) < 0.08, max(aligned)
    raw_accuracy = np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y)
    prepared_accuracy = np.mean(np.argmax(model.predict(prepared, verbose=0), axis=1) == y)
    assert prepared_accuracy >= raw_accuracy - 0.02, (raw_accuracy, prepared_accuracy)


def test_paper_texture_specks_of_dirt_and_a_shadow_are_not_ink(reference):
    rng = np.random.default_rng(7)
    image = photo(glyph(3, 300, 260), (235, 230, 210), (30, 40, 120), noise=10).astype(float)
    image *= np.where(np.arange(300) < 90, 0.7, 1.0)[None, :, None]  # a hard shadow over the left side
    for y, x in rng.integers(5, 255, (12, 2)):  # dust: dark specks, 2 x 2 pixels, all over the page
        image[y : y + 2, x : x + 2] = 60
    prepared = preprocess_image(np.clip(image, 0, 255).astype(np.uint8))
    assert np.abs(prepared - reference).mean() < 0.02


def test_hair_thin_pen_strokes_are_thickened_to_mnist_width(model):
    page = Image.new("L", (600, 600), 245)
    ImageDraw.Draw(page).line([(150, 100), (450, 100), (260, 520)], fill=20, width=3)  # a 7 in a fine pen
    x = preprocess_image(page)
    assert 1.8 <= mnist_stroke_width(x[..., 0]) <= 4.1  # MNIST's 5th to 95th percentile
    assert digits.predict_digit(model, x)[1] == 7


# --- files, colours and arrays ------------------------------------------------------------------------------


def test_png_and_jpeg_files_colour_grey_and_transparent_give_the_same_input(tmp_path, reference):
    rgb = photo(glyph(3, 300, 260), (235, 230, 210), (30, 40, 120))
    Image.fromarray(rgb).save(tmp_path / "colour.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.png")
    Image.fromarray(rgb).save(tmp_path / "photo.jpg", quality=80)
    Image.fromarray(rgb).convert("L").save(tmp_path / "grey.jpeg", quality=80)
    ink = np.zeros((260, 300, 4), dtype=np.uint8)  # dark ink on a transparent background
    ink[..., :3], ink[..., 3] = (40, 40, 40), np.round(glyph(3, 300, 260) * 255)
    Image.fromarray(ink, "RGBA").save(tmp_path / "transparent.png")
    sources = [
        *(tmp_path / n for n in ("colour.png", "grey.png", "photo.jpg", "grey.jpeg", "transparent.png"))
    ]
    sources += [str(tmp_path / "colour.png"), Image.fromarray(rgb), rgb, rgb / 255.0, ink]
    for source in sources:
        x = preprocess_image(source)
        assert x.shape == (28, 28, 1) and x.dtype == np.float32
        difference = np.abs(x - reference)
        assert difference.max() < 0.15 and difference.mean() < 0.01, (type(source), difference.mean())


def test_one_bit_and_sixteen_bit_scans_and_camera_sized_photos_give_the_same_input(tmp_path, reference):
    coverage = glyph(3, 1500, 1300)  # larger than digits.LOAD_MAX: shrunk as it is read
    Image.fromarray(coverage < 0.5).convert("1").save(tmp_path / "bilevel.png")
    Image.fromarray(np.round(65535 * (1 - glyph(3, 300, 260))).astype(np.uint16)).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    for name in ("bilevel.png", "deep.png"):
        assert np.abs(preprocess_image(tmp_path / name) - reference).mean() < 0.01, name


def test_light_ink_on_a_transparent_background_is_read_too(reference):
    chalk = np.zeros((260, 300, 4), dtype=np.uint8)
    chalk[..., :3], chalk[..., 3] = 230, np.round(glyph(3, 300, 260) * 255)
    assert np.abs(preprocess_image(chalk) - reference).mean() < 0.02


def test_a_text_file_an_empty_file_and_a_blank_page_are_refused_naming_the_file(tmp_path):
    (tmp_path / "notes.png").write_text("this is not an image\n")
    (tmp_path / "empty.png").write_bytes(b"")
    Image.new("RGB", (200, 150), (250, 248, 240)).save(tmp_path / "blank.png")
    noisy = np.random.default_rng(0).normal(230, 6, (200, 200)).clip(0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "paper.jpg")
    expected = {
        "notes.png": "could not be read as an image",
        "empty.png": "empty",
        "blank.png": "no ink",
        "paper.jpg": "no ink",
    }
    for name, words in expected.items():
        with pytest.raises(DigitImageError, match=words) as info:
            preprocess_image(tmp_path / name)
        assert str(tmp_path / name) in str(info.value)
    assert issubclass(DigitImageError, ValueError)


def test_arrays_that_are_not_images_are_refused():
    for bad, words in [
        (np.zeros((0, 10)), "no pixels"),
        (np.zeros((5, 5, 2)), "not an image"),
        (np.full((40, 40), np.nan), "finite numbers"),
        (np.full((40, 40), 0.7), "no ink"),
    ]:
        with pytest.raises(DigitImageError, match=words):
            preprocess_image(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        preprocess_image("/nonexistent/digit.png")


# --- predictions and the shipped samples --------------------------------------------------------------------


def test_predict_digit_gives_probabilities_and_the_most_probable_class(model, mnist):
    probabilities, predicted = digits.predict_digit(model, mnist.x_test[0])
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0)
    assert (
        predicted
        == int(np.argmax(probabilities))
        == int(np.argmax(model.predict(mnist.x_test[:1], verbose=0)))
    )
    # a path is prepared first
    path = digits.sample_digit_paths()[0]
    assert digits.predict_digit(model, path)[1] == digits.predict_digit(model, preprocess_image(path))[1]


def test_predict_digit_gives_finite_probabilities_for_huge_logits(mnist):
    """Keras' softmax shifts the logits first: exp(1000) would overflow to inf and give nan."""
    logits = np.array([[-1000.0, 1000.0, *[0.0] * 7, -1000.0]], dtype="float32")
    probabilities, predicted = digits.predict_digit(lambda x, training: logits, mnist.x_test[0])
    assert np.all(np.isfinite(probabilities)) and predicted == 1
    assert probabilities[1] == pytest.approx(1.0) and probabilities.sum() == pytest.approx(1.0)


def test_the_samples_cover_every_digit_both_polarities_png_and_jpeg_in_small_files():
    paths = digits.sample_digit_paths()
    assert 10 <= len(paths) <= 20
    assert {digits.label_from_filename(p) for p in paths} == set(range(10))
    assert any("dark-on-light" in p.name for p in paths) and any("light-on-dark" in p.name for p in paths)
    assert {p.suffix for p in paths} == {".png", ".jpg"}
    assert all(p.stat().st_size < 30_000 for p in paths)
    assert digits.label_from_filename("digit_3_dark-on-light.png") == 3


def test_the_model_recognises_the_shipped_sample_digits(model):
    paths = digits.sample_digit_paths()
    predicted = [digits.predict_digit(model, path)[1] for path in paths]
    wrong = [(p.name, k) for p, k in zip(paths, predicted, strict=True) if k != digits.label_from_filename(p)]
    assert wrong == [], f"{len(paths) - len(wrong)} of {len(paths)} right; wrong: {wrong}"


# --- pictures -----------------------------------------------------------------------------------------------


def test_the_preprocessing_steps_are_shown_in_order_and_end_with_the_input():
    path = next(p for p in digits.sample_digit_paths() if "dark-on-light" in p.name)
    steps = digits.preprocessing_steps(path)
    names = [step.name for step in steps]
    assert names == ["original", "grey", "inverted", "cleaned", "cropped", "scaled", "centred"]
    assert np.array_equal(steps[-1].image.astype(np.float32)[..., None], preprocess_image(path))
    fig = digits.show_preprocessing_steps(path)
    assert isinstance(fig, Figure) and [ax.get_title().split("\n")[0] for ax in fig.axes] == names
    light = next(p for p in digits.sample_digit_paths() if "light-on-dark" in p.name)
    assert digits.preprocessing_steps(light)[2].name == "not inverted"


def test_show_digit_files_shows_each_file_with_its_title():
    paths = digits.sample_digit_paths()[:5]
    fig = digits.show_digit_files(paths, titles=[f"#{i}" for i in range(5)], cols=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["#0", "#1", "#2", "#3", "#4", ""]


# --- the drawing pad ----------------------------------------------------------------------------------------


def draw_seven(pad) -> None:
    pad.start_stroke(70, 60)
    for x in range(70, 211, 10):
        pad.extend_stroke(x, 60)
    for i in range(1, 14):
        pad.extend_stroke(210 - 7 * i, 60 + 14 * i)


def test_the_drawing_pad_reads_the_strokes_drawn_on_it(model):
    pad = drawing_pad.DrawingPad(model)
    assert pad.predict() is None and pad.pixels.max() == 0  # a blank pad has nothing to classify
    assert pad.extend_stroke(10, 10) is None  # moving without the button down draws nothing
    draw_seven(pad)
    assert pad._last is not None  # a stroke in progress
    result = pad.end_stroke()
    assert pad._last is None
    assert result.predicted == 7 and result.image.shape == (28, 28, 1)
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert set(np.unique(pad.pixels)) <= set(range(256)) and pad.pixels[60, 140] == 255
    pad.clear()
    assert pad.pixels.max() == 0 and pad.predict() is None


# A 3 as one stroke, in a unit box: the top bowl, the middle, the bottom bowl.
THREE = [(0.1, 0.15), (0.3, 0.02), (0.6, 0.0), (0.85, 0.12), (0.85, 0.32), (0.65, 0.46), (0.4, 0.5),
         (0.65, 0.54), (0.9, 0.68), (0.9, 0.88), (0.65, 1.0), (0.3, 0.98), (0.08, 0.85)]  # fmt: skip


def draw_three(pad, left: float, top: float, size: float) -> None:
    points = [(left + x * size, top + y * size) for x, y in THREE]
    pad.start_stroke(*points[0])
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        for t in np.linspace(0, 1, 6)[1:]:
            pad.extend_stroke(x0 + t * (x1 - x0), y0 + t * (y1 - y0))


def test_a_small_digit_drawn_with_the_wide_pen_is_thinned_and_read_right(model):
    pad = drawing_pad.DrawingPad(model)  # 280 px pad, 20 px pen
    draw_three(pad, left=20, top=20, size=56)  # a fifth of the pad, in a corner
    result = pad.end_stroke()
    notes = [step.note for step in digits.preprocessing_steps(pad.pixels)]
    assert any(note.startswith("strokes thinned") for note in notes), notes
    assert 1.8 <= mnist_stroke_width(result.image[..., 0]) <= 4.1  # MNIST's 5th to 95th percentile
    assert result.predicted == 3, result.probabilities.round(2)
    pad.clear()
    draw_three(pad, left=40, top=30, size=210)  # the same 3, large: its strokes are left as drawn
    result = pad.end_stroke()
    assert not any("thinned" in step.note for step in digits.preprocessing_steps(pad.pixels))
    assert result.predicted == 3, result.probabilities.round(2)


def test_the_drawing_pad_widget_updates_after_each_stroke(model):
    pytest.importorskip("ipycanvas")
    box = drawing_pad.drawing_pad(model, CLASS_NAMES)
    canvas = box.canvas

    def event(kind, x, y):  # what the browser sends; ipycanvas dispatches it to the registered callbacks
        canvas._handle_frontend_event(None, {"event": kind, "x": x, "y": y}, None)

    event("mouse_down", 70, 60)
    for x in range(70, 211, 10):
        event("mouse_move", x, 60)
    for i in range(1, 14):
        event("mouse_move", 210 - 7 * i, 60 + 14 * i)
    event("mouse_up", 119, 242)
    assert "<b>7</b>" in box.headline.value
    assert max(range(10), key=lambda k: box.bars[k].value) == 7
    assert sum(bar.value for bar in box.bars) == pytest.approx(1.0, abs=1e-6)
    assert box.preview.value[:8] == b"\x89PNG\r\n\x1a\n"
    canvas._handle_frontend_event(None, {"event": "client_ready"}, None)  # a reload redraws: must not fail
    box.clear_button.click()
    assert box.pad.pixels.max() == 0 and all(bar.value == 0 for bar in box.bars)
    assert "Draw a digit" in box.headline.value


def test_interactive_frontend_is_only_reported_in_a_jupyter_server_kernel(monkeypatch):
    import IPython

    assert drawing_pad.interactive_frontend_available() is False  # pytest: no kernel, no browser
    kernel_shell = type("Shell", (), {"kernel": object()})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: kernel_shell)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert drawing_pad.interactive_frontend_available() is False  # papermill / nbval: a kernel, no server
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/06_your_digit.ipynb")
    assert drawing_pad.interactive_frontend_available() is True


def test_digits_use_an_mnist_model_whatever_the_course_dataset(tmp_path, capsys):
    from course_utils.params import check_params

    mnist = check_params(artifacts_dir=str(tmp_path))
    assert digits.mnist_params(mnist) is mnist and capsys.readouterr().out == ""
    fashion = digits.mnist_params(check_params(dataset="fashion_mnist", artifacts_dir=str(tmp_path)))
    assert fashion.dataset == "mnist"
    assert "MNIST" in capsys.readouterr().out


# --- files too large to read, animated files ------------------------------------------------------------


def png_declaring(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares ``width`` x ``height`` grey pixels but which holds only a few bytes: how a
    decompression bomb (or a huge scan) looks before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body)
    return path


@pytest.mark.parametrize("side", [20_000, 10_000])  # past Pillow's error limit; past its warning limit
def test_an_image_too_large_to_read_is_refused_naming_the_file_and_the_limit(tmp_path, side):
    path = png_declaring(tmp_path / "huge.png", side, side)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning either: the course's own error
        with pytest.raises(DigitImageError) as info:
            preprocess_image(path)
    message = str(info.value)
    assert str(path) in message and f"{side * side} pixels" in message
    assert f"{digits.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels" in message


def test_notebook_06_checks_image_path_before_it_loads_the_model(tmp_path):
    from course_utils.params import check_params

    huge = png_declaring(tmp_path / "huge.png", 20_000, 20_000)
    with pytest.raises(DigitImageError, match="huge.png"):
        digits.mnist_params(check_params(image_path=str(huge), artifacts_dir=str(tmp_path)))
    ok = check_params(image_path=str(digits.sample_digit_paths()[0]), artifacts_dir=str(tmp_path))
    assert digits.mnist_params(ok) is ok
    # In 06, mnist_params (which checks image_path) runs before load_or_train loads the model.
    notebook = nbformat.read(Path(__file__).parents[1] / "notebooks" / "06_your_digit.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert 0 <= code.index("digits.mnist_params(params)") < code.index("load_or_train(")
