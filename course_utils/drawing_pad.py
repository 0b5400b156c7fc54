"""The drawing pad for JupyterLab: draw a digit with the mouse and see the model's answer after every stroke.

The strokes are kept as pixels in the kernel (``DrawingPad``) and prepared the way MNIST's digits were
(``course_utils.digits.preprocess_image``); ``drawing_pad`` puts the ipycanvas and ipywidgets around them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from course_utils import plots
from course_utils.digits import MNIST_SIZE, DigitImageError, predict_digit, preprocess_image
from course_utils.i18n import _

NO_FRONTEND_MESSAGE = "The drawing pad needs JupyterLab: open this notebook there to draw a digit."


class DrawingPrediction(NamedTuple):
    """What the model makes of a drawing: the prepared 28 x 28 input, the probabilities and the answer."""

    image: np.ndarray
    probabilities: np.ndarray
    predicted: int


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
        try:
            image = preprocess_image(self.pixels)
        except DigitImageError:
            return None
        return DrawingPrediction(image, *predict_digit(self.model, image))


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
    headline = widgets.HTML(_("<b>Draw a digit</b> with the mouse."))
    bars = [widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description=str(n)) for n in class_names]
    percents = [widgets.Label("") for _name in class_names]
    clear = widgets.Button(description=_("Clear"), icon="eraser")

    def paint_background() -> None:
        canvas.fill_style = "black"
        canvas.fill_rect(0, 0, size, size)
        canvas.stroke_style, canvas.fill_style, canvas.line_width = "white", "white", line_width
        canvas.line_cap = canvas.line_join = "round"

    def show(result: DrawingPrediction | None) -> None:
        if result is None:
            preview.value = _png(np.zeros((MNIST_SIZE, MNIST_SIZE)), preview_size)
            headline.value = _("<b>Draw a digit</b> with the mouse.")
        else:
            preview.value = _png(result.image, preview_size)
            name, p = class_names[result.predicted], result.probabilities[result.predicted]
            headline.value = _("The model says <b>{name}</b> ({probability} sure).").format(
                name=name, probability=plots.format_probability(p, 0)
            )
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
        if pad._last is not None:  # a stroke is in progress
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
    columns = [widgets.VBox([canvas, clear], layout=spaced), widgets.VBox([headline, preview], layout=spaced)]
    box = widgets.HBox([*columns, widgets.VBox(rows)])
    box.pad, box.canvas, box.clear_button = pad, canvas, clear
    box.headline, box.preview, box.bars = headline, preview, bars
    return box
