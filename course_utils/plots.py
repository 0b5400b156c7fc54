"""Plot-layout plumbing, so notebook cells show only the lesson: one call, one figure.

Every ``show_*`` function makes a new ``matplotlib.figure.Figure`` (not registered with pyplot, so nothing
piles up in memory) with the object-oriented API, and returns it: as the last line of a cell, Jupyter shows
it once. Nothing here calls ``plt.show()`` or changes rcParams, and importing it changes no matplotlib
setting: in a notebook, call ``show_figures_inline()`` once; in a script, pass the figure to ``save_figure``.

Labels and predictions may be class indices (shape ``(N,)``) or per-class scores such as one-hot labels or
``model.predict`` output (shape ``(N, C)``), which are reduced with ``argmax``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence, Sized
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from course_utils.i18n import _

WRONG_COLOR = "tab:red"
BAR_COLOR = "tab:gray"
HIGHLIGHT_COLOR = "tab:blue"
IMAGE_CMAP = "gray"
FEATURE_CMAP = "viridis"
FILTER_CMAP = "RdBu_r"
ARROW = "\u2192"  # "→", in DejaVu Sans, matplotlib's default font
PROBABILITY_TOP = 1.15  # the probability axis ends here, so a full bar's label fits under the title
_LONG_NAME = 3  # class names longer than this get rotated tick labels


# --- showing figures in a notebook ------------------------------------------------------------------------


def show_figures_inline() -> None:
    """In a Jupyter kernel, show the Figures that cells return as pictures (what ``%matplotlib inline`` does).

    The figures here are not managed by pyplot, so without this a returned Figure shows only as text. Each
    notebook that draws calls it in its setup cell; importing this module changes nothing. Outside a
    kernel it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.enable_matplotlib("inline")


# --- input checks shared by the plots ----------------------------------------------------------------------


def _new_figure(rows: int, cols: int, figsize: tuple[float, float]) -> tuple[Figure, Any]:
    """A new constrained-layout figure and its axes as a 2-D array."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _as_images(images: ArrayLike, what: str = "images") -> np.ndarray:
    """A batch of images as (N, H, W): drops a trailing channel axis of size 1."""
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(
            _("{what} must be shaped (N, H, W) or (N, H, W, 1), got {shape}").format(what=what, shape=x.shape)
        )
    if len(x) == 0:
        raise ValueError(_("{what} is empty: nothing to show").format(what=what))
    return x


def _as_image(image: ArrayLike) -> np.ndarray:
    """One image as (H, W): accepts (H, W), (H, W, 1) and (1, H, W, 1)."""
    x = np.asarray(image)
    while x.ndim > 2 and (x.shape[0] == 1 or x.shape[-1] == 1):
        x = x[0] if x.shape[0] == 1 else x[..., 0]
    if x.ndim != 2:
        raise ValueError(
            _("image must be one 2-D image such as (28, 28) or (28, 28, 1), got {shape}").format(
                shape=np.shape(image)
            )
        )
    return x


def _class_indices(y: ArrayLike, what: str, n_classes: int | None = None) -> np.ndarray:
    """Class indices (N,) from indices, a column of indices, or per-class scores (N, C) via argmax."""
    a = np.asarray(y)
    if a.ndim == 2 and a.shape[1] > 1:
        a = a.argmax(axis=1)
    elif a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(
            _("{what} must be class indices (N,) or per-class scores (N, C), got {shape}").format(
                what=what, shape=np.shape(y)
            )
        )
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.number) or not np.all(np.equal(np.mod(a, 1), 0)):
            raise ValueError(
                _("{what} must be whole-number class indices, got dtype {dtype}").format(
                    what=what, dtype=a.dtype
                )
            )
    a = a.astype(np.int64)
    if n_classes is not None and a.size and (a.min() < 0 or a.max() >= n_classes):
        raise ValueError(
            _("{what} must lie in 0..{last} (one per class name), got {low}..{high}").format(
                what=what, last=n_classes - 1, low=a.min(), high=a.max()
            )
        )
    return a


def _same_length(**arrays: Sized) -> None:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{len_} {name}" for name, len_ in lengths.items())
        raise ValueError(_("lengths differ: {detail}").format(detail=detail))


def _name(label: int, class_names: Sequence[str] | None) -> str:
    return str(class_names[label]) if class_names is not None else str(label)


def _value_range(x: np.ndarray) -> tuple[float, float]:
    """Pixel range to map onto the colormap: [0, 1] for floats, [0, 255] for integers, else the data's."""
    top = 255.0 if np.issubdtype(x.dtype, np.integer) else 1.0
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo >= 0 and hi <= top:
        return 0.0, top
    return lo, hi if hi > lo else lo + 1.0


def _class_ticks(ax: Any, class_names: Sequence[str], axis: str = "x") -> None:
    """One tick per class, rotated when the names are long (Fashion-MNIST's, say)."""
    long_names = max((len(str(n)) for n in class_names), default=0) > _LONG_NAME
    ticks = np.arange(len(class_names))
    if axis == "x":
        ax.set_xticks(
            ticks,
            [str(n) for n in class_names],
            rotation=45 if long_names else 0,
            ha="right" if long_names else "center",
            rotation_mode="anchor",
        )
    else:
        ax.set_yticks(ticks, [str(n) for n in class_names])


def _grid(
    images: np.ndarray,
    titles: Sequence[str],
    colors: Sequence[str | None],
    rows: int,
    cols: int,
    cmap: str = IMAGE_CMAP,
    vrange: tuple[float, float] | None = None,
) -> tuple[Figure, Any]:
    """Images in a rows x cols grid, axes off, each titled; axes past the last image stay blank."""
    fig, axes = _new_figure(rows, cols, figsize=(1.25 * cols, 1.4 * rows))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            vmin, vmax = vrange if vrange is not None else (None, None)
            ax.imshow(images[i], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_title(titles[i], fontsize=8, **({"color": colors[i]} if colors[i] else {}))
    return fig, axes


def _history_dict(history: Any, what: str = "history") -> Mapping[str, Sequence[float]]:
    """``History.history`` from a Keras ``History`` or the dict itself."""
    h = getattr(history, "history", history)
    if not isinstance(h, Mapping):
        raise TypeError(
            _("{what} must be a dict like History.history or a History, got {type}").format(
                what=what, type=type(history).__name__
            )
        )
    return h


def _accuracy_key(h: Mapping[str, Any]) -> str | None:
    if "accuracy" in h:
        return "accuracy"
    for key in h:  # metrics=["acc"] or ["sparse_categorical_accuracy"] name it differently
        if not key.startswith("val_") and (key == "acc" or key.endswith("accuracy")):
            return key
    return None


def _epochs(values: Sequence[float]) -> np.ndarray:
    return np.arange(1, len(values) + 1)


# --- the lesson's plots ------------------------------------------------------------------------------------


def show_digit_grid(
    images: ArrayLike,
    labels: ArrayLike,
    class_names: Sequence[str] | None = None,
    rows: int = 2,
    cols: int = 10,
    predictions: ArrayLike | None = None,
) -> Figure:
    """The first ``rows * cols`` images in a grid, titled with their labels (``label→pred``, red if wrong).

    Fewer images than cells leaves the remaining cells blank.
    """
    if rows < 1 or cols < 1:
        raise ValueError(
            _("rows and cols must be at least 1, got rows={rows}, cols={cols}").format(rows=rows, cols=cols)
        )
    x = _as_images(images)
    n_classes = len(class_names) if class_names is not None else None
    y = _class_indices(labels, "labels", n_classes)
    _same_length(images=x, labels=y)
    n = min(len(x), rows * cols)
    titles = [_name(y[i], class_names) for i in range(n)]
    colors: list[str | None] = [None] * n
    if predictions is not None:
        p = _class_indices(predictions, "predictions", n_classes)
        _same_length(images=x, predictions=p)
        titles = [f"{titles[i]}{ARROW}{_name(p[i], class_names)}" for i in range(n)]
        colors = [WRONG_COLOR if p[i] != y[i] else None for i in range(n)]
    fig, _axes = _grid(x[:n], titles, colors, rows, cols, vrange=_value_range(x[:n]))
    return fig


def show_pixel_values(image: ArrayLike) -> Figure:
    """One image as a heat-map with every pixel's value written in its cell: an image is a grid of numbers."""
    x = _as_image(image)
    integer = np.issubdtype(x.dtype, np.integer)
    vmin, vmax = _value_range(x)
    fig, axes = _new_figure(1, 1, figsize=(0.3 * x.shape[1] + 1.2, 0.3 * x.shape[0] + 0.4))
    ax = axes[0, 0]
    im = ax.imshow(x, cmap=IMAGE_CMAP, norm=Normalize(vmin, vmax), interpolation="nearest")
    for (r, c), v in np.ndenumerate(x):
        red, green, blue, _alpha = im.cmap(im.norm(v))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        text = f"{int(v)}" if integer else f"{v:.1f}"
        ax.text(c, r, text, ha="center", va="center", fontsize=6, color="white" if dark else "black")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    fig.colorbar(im, ax=ax, shrink=0.8, label="pixel value")
    return fig


def show_class_balance(labels: ArrayLike, class_names: Sequence[str]) -> Figure:
    """How many examples each class has, as bars with the counts written on them."""
    y = _class_indices(labels, "labels", len(class_names))
    counts = np.bincount(y, minlength=len(class_names))
    fig, axes = _new_figure(1, 1, figsize=(max(6.0, 0.7 * len(class_names)), 3.5))
    ax = axes[0, 0]
    bars = ax.bar(np.arange(len(class_names)), counts, color=BAR_COLOR)
    ax.bar_label(bars, fontsize=8, padding=2)
    ax.margins(y=0.12)
    _class_ticks(ax, class_names)
    ax.set_ylabel("examples")
    ax.set_title(f"Examples per class ({len(y)} in all)")
    return fig


def show_mean_images(images: ArrayLike, labels: ArrayLike, class_names: Sequence[str]) -> Figure:
    """The average image of each class, side by side: what a "typical" example of each class looks like."""
    x = _as_images(images)
    y = _class_indices(labels, "labels", len(class_names))
    _same_length(images=x, labels=y)
    fig, axes = _new_figure(1, len(class_names), figsize=(1.25 * len(class_names), 1.6))
    vrange = _value_range(x)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        members = x[y == k]
        if len(members):
            ax.imshow(members.mean(axis=0), cmap=IMAGE_CMAP, vmin=vrange[0], vmax=vrange[1])
            ax.set_title(_name(k, class_names), fontsize=8)
        else:
            ax.set_title(f"{_name(k, class_names)}\n(none)", fontsize=8)
    return fig


def show_training_curves(history: Any) -> Figure:
    """Loss and accuracy per epoch, training and validation: how learning went, and whether it overfits.

    ``history`` is ``History.history`` (``loss``, ``accuracy``, optional ``val_*``) or the ``History`` itself.
    """
    h = _history_dict(history)
    if "loss" not in h:
        raise ValueError(
            _("history has no 'loss' key (keys: {keys}); pass History.history from fit()").format(
                keys=sorted(h)
            )
        )
    fig, axes = _new_figure(1, 2, figsize=(10, 3.8))
    for ax, key, title in ((axes[0, 0], "loss", "loss"), (axes[0, 1], _accuracy_key(h), "accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(title)
        if key is None:
            ax.text(0.5, 0.5, "no accuracy in history", ha="center", va="center", transform=ax.transAxes)
            continue
        ax.plot(_epochs(h[key]), list(h[key]), marker="o", label="train")
        if f"val_{key}" in h:
            ax.plot(_epochs(h[f"val_{key}"]), list(h[f"val_{key}"]), marker="o", label="validation")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return fig


def format_probability(p: float, decimals: int = 2) -> str:
    """``p`` as a percentage, with a sign where rounding would hide that it is not exactly 100% or 0%.

    ``0.999996`` gives ``">99.99%"``, not ``"100.00%"``; ``2e-7`` gives ``"<0.01%"``, not ``"0.00%"``.
    """
    p = float(p)
    text = f"{p:.{decimals}%}"
    if p < 1 and text == f"{1:.{decimals}%}":
        return f">{100 - 10.0**-decimals:.{decimals}f}%"
    if p > 0 and text == f"{0:.{decimals}%}":
        return f"<{10.0**-decimals:.{decimals}f}%"
    return text


def show_probabilities(
    probabilities: ArrayLike, class_names: Sequence[str], true_label: int | None = None
) -> Figure:
    """The model's probability for each class, the predicted one highlighted (red if it is wrong).

    The true class, if given, has its bar outlined and its name in bold. The predicted bar's label is a
    percentage that says when it was rounded (``format_probability``); the axis leaves room for it under the
    title.
    """
    p = np.asarray(probabilities, dtype=float)
    if p.ndim == 2 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 1 or len(p) != len(class_names):
        raise ValueError(
            _("probabilities must hold one value per class ({count}), got {shape}").format(
                count=len(class_names), shape=p.shape
            )
        )
    if np.any(p < -1e-6) or np.any(p > 1 + 1e-6):
        raise ValueError(_("probabilities must lie in [0, 1]; were these logits? Apply softmax first"))
    if true_label is not None:
        true_label = int(_class_indices(np.reshape(true_label, (1, -1)), "true_label", len(class_names))[0])
    predicted = int(p.argmax())
    wrong = true_label is not None and true_label != predicted
    colors = [BAR_COLOR] * len(p)
    colors[predicted] = WRONG_COLOR if wrong else HIGHLIGHT_COLOR
    fig, axes = _new_figure(1, 1, figsize=(max(6.0, 0.7 * len(class_names)), 3.5))
    ax = axes[0, 0]
    bars = ax.bar(np.arange(len(p)), p, color=colors)
    labels = [format_probability(v, 1) if i == predicted else "" for i, v in enumerate(p)]
    ax.bar_label(bars, labels, fontsize=8, padding=2)
    title = f"predicted {_name(predicted, class_names)} ({format_probability(p[predicted], 1)})"
    if true_label is not None:
        title += f", true {_name(true_label, class_names)}"
    ax.set_ylim(0, PROBABILITY_TOP)  # room above a full bar for its label, below the title
    ax.set_yticks(np.linspace(0, 1, 6))
    _class_ticks(ax, class_names)
    if true_label is not None:  # outlined bar and bold tick label: visible even when its bar is ~0 high
        bars[true_label].set_edgecolor("black")
        bars[true_label].set_linewidth(2)
        ax.get_xticklabels()[true_label].set_fontweight("bold")
    ax.set_ylabel("probability")
    ax.set_title(title, **({"color": WRONG_COLOR} if wrong else {}))
    return fig


def show_confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, class_names: Sequence[str]) -> Figure:
    """Counts of each (true, predicted) pair: which classes the model confuses with which."""
    from sklearn.metrics import ConfusionMatrixDisplay  # imported here: scikit-learn is slow to import

    t = _class_indices(y_true, "y_true", len(class_names))
    p = _class_indices(y_pred, "y_pred", len(class_names))
    _same_length(y_true=t, y_pred=p)
    long_names = max((len(str(n)) for n in class_names), default=0) > _LONG_NAME
    size = max(5.5, 0.6 * len(class_names))
    fig, axes = _new_figure(1, 1, figsize=(size, size))
    ax = axes[0, 0]
    ConfusionMatrixDisplay.from_predictions(
        t,
        p,
        labels=np.arange(len(class_names)),
        display_labels=[str(n) for n in class_names],
        ax=ax,
        values_format="d",
        colorbar=False,
        cmap="Blues",
        xticks_rotation=45 if long_names else "horizontal",
    )
    if long_names:  # anchor rotated names at their tick, as _class_ticks does
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
    accuracy = float(np.mean(t == p)) if len(t) else float("nan")
    ax.set_title(f"Confusion matrix: {len(t)} examples, accuracy {accuracy:.1%}")
    return fig


def show_mistakes(
    images: ArrayLike,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    class_names: Sequence[str],
    max_images: int = 20,
    cols: int = 10,
) -> Figure:
    """The misclassified images (the first ``max_images``), titled ``true→pred``; "No mistakes" if none."""
    if max_images < 1 or cols < 1:
        raise ValueError(
            _("max_images and cols must be at least 1, got max_images={max_images}, cols={cols}").format(
                max_images=max_images, cols=cols
            )
        )
    x = _as_images(images)
    t = _class_indices(y_true, "y_true", len(class_names))
    p = _class_indices(y_pred, "y_pred", len(class_names))
    _same_length(images=x, y_true=t, y_pred=p)
    wrong = np.flatnonzero(t != p)
    if len(wrong) == 0:
        fig, axes = _new_figure(1, 1, figsize=(4, 1.5))
        axes[0, 0].set_axis_off()
        axes[0, 0].text(0.5, 0.5, "No mistakes", ha="center", va="center", fontsize=14)
        axes[0, 0].set_title(f"0 of {len(x)} examples misclassified", fontsize=9)
        return fig
    shown = wrong[:max_images]
    titles = [f"{_name(t[i], class_names)}{ARROW}{_name(p[i], class_names)}" for i in shown]
    cols = min(cols, len(shown))
    fig, _axes = _grid(
        x[shown],
        titles,
        [WRONG_COLOR] * len(shown),
        math.ceil(len(shown) / cols),
        cols,
        vrange=_value_range(x[shown]),
    )
    more = f" (first {len(shown)} shown)" if len(shown) < len(wrong) else ""
    fig.suptitle(f"{len(wrong)} of {len(x)} examples misclassified{more}, titled true{ARROW}predicted")
    return fig


def show_feature_maps(
    activations: ArrayLike, max_maps: int = 32, cols: int = 8, title: str | None = None
) -> Figure:
    """One small image per channel of a layer's output for one input: what each filter responds to.

    ``activations`` is shaped (H, W, C) or (1, H, W, C); each map gets its own colour scale.
    """
    if max_maps < 1 or cols < 1:
        raise ValueError(
            _("max_maps and cols must be at least 1, got max_maps={max_maps}, cols={cols}").format(
                max_maps=max_maps, cols=cols
            )
        )
    a = np.asarray(activations)
    if a.ndim == 4:
        if a.shape[0] != 1:
            raise ValueError(
                _("pass one input's activations, (1, H, W, C) or (H, W, C), got {shape}").format(
                    shape=a.shape
                )
            )
        a = a[0]
    if a.ndim != 3 or a.shape[-1] == 0:
        raise ValueError(
            _("activations must be shaped (H, W, C) or (1, H, W, C), got {shape}").format(
                shape=np.shape(activations)
            )
        )
    n = min(a.shape[-1], max_maps)
    cols = min(cols, n)
    maps = np.moveaxis(a[..., :n], -1, 0)
    fig, _axes = _grid(
        maps, [f"#{i}" for i in range(n)], [None] * n, math.ceil(n / cols), cols, cmap=FEATURE_CMAP
    )
    h, w, c = a.shape
    count = f"{n} of {c}" if n < c else f"{c}"
    fig.suptitle(title or f"{count} feature maps, {h}\u00d7{w} each")
    return fig


def show_filters(kernel: ArrayLike, cols: int = 8) -> Figure:
    """The first convolution layer's filters, one small image each, blue negative / red positive around 0.

    ``kernel`` is shaped (kh, kw, 1, n), as ``layer.get_weights()[0]`` gives it, or (kh, kw, n).
    """
    if cols < 1:
        raise ValueError(_("cols must be at least 1, got {cols}").format(cols=cols))
    k = np.asarray(kernel, dtype=float)
    if k.ndim == 4 and k.shape[2] == 1:
        k = k[:, :, 0, :]
    if k.ndim != 3 or k.shape[-1] == 0:
        raise ValueError(
            _("kernel must be a first conv layer's: (kh, kw, 1, n) or (kh, kw, n), got {shape}").format(
                shape=np.shape(kernel)
            )
        )
    n = k.shape[-1]
    cols = min(cols, n)
    limit = float(np.abs(k).max()) or 1.0  # one symmetric scale for all filters, so 0 is the middle colour
    fig, axes = _grid(
        np.moveaxis(k, -1, 0),
        [f"#{i}" for i in range(n)],
        [None] * n,
        math.ceil(n / cols),
        cols,
        cmap=FILTER_CMAP,
        vrange=(-limit, limit),
    )
    fig.colorbar(axes.flat[0].images[0], ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"{n} filters, {k.shape[0]}\u00d7{k.shape[1]} each")
    return fig


def show_model_comparison_curves(histories: Mapping[str, Any], metric: str = "val_accuracy") -> Figure:
    """One line per named history for ``metric`` on one axis, e.g. the lesson's model and an improved one."""
    if not histories:
        raise ValueError(_("histories is empty: pass {{name: History.history, ...}}").format())
    fig, axes = _new_figure(1, 1, figsize=(7, 4))
    ax = axes[0, 0]
    for name, history in histories.items():
        h = _history_dict(history, f"histories[{name!r}]")
        if metric not in h:
            raise ValueError(
                _("history {name!r} has no {metric!r} (keys: {keys})").format(
                    name=name, metric=metric, keys=sorted(h)
                )
            )
        ax.plot(_epochs(h[metric]), list(h[metric]), marker="o", label=str(name))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} by epoch")
    ax.legend()
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: float = 100) -> Path:
    """Write ``fig`` as a PNG at ``path`` (".png" added if none), creating its folders; returns the path."""
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    elif path.suffix.lower() != ".png":
        raise ValueError(_("save_figure writes PNG; give a .png path, not {name!r}").format(name=path.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path
