"""Figures whose layout there is nothing to learn from: one call, one figure.

Every ``show_*`` function makes a new ``matplotlib.figure.Figure`` (not registered with pyplot, so nothing
piles up in memory) and returns it: as the last line of a cell, Jupyter shows it once. In a notebook, call
``show_figures_inline()`` once. Labels and predictions may be class indices ``(N,)`` or per-class scores
``(N, C)`` such as ``model.predict`` output, which are reduced with ``argmax``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from course_utils.i18n import _

WRONG_COLOR, BAR_COLOR, HIGHLIGHT_COLOR = "tab:red", "tab:gray", "tab:blue"
IMAGE_CMAP = "gray"
ARROW = "\u2192"  # "→", in DejaVu Sans, matplotlib's default font


def show_figures_inline() -> None:
    """In a Jupyter kernel, show the Figures that cells return as pictures (``%matplotlib inline``)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        shell.enable_matplotlib("inline")


def _axes(rows: int, cols: int, figsize) -> tuple[Figure, np.ndarray]:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def _images(images) -> np.ndarray:
    """A batch of images as (N, H, W): drops a trailing channel axis of size 1."""
    x = np.asarray(images)
    x = x[..., 0] if x.ndim == 4 and x.shape[-1] == 1 else x
    if x.ndim != 3:
        raise ValueError(
            _("{what} must be shaped (N, H, W) or (N, H, W, 1), got {shape}").format(
                what="images", shape=x.shape
            )
        )
    return x


def _labels(y) -> np.ndarray:
    """Class indices (N,) from indices or per-class scores (N, C)."""
    a = np.asarray(y)
    return (a.argmax(axis=1) if a.ndim == 2 and a.shape[1] > 1 else a.reshape(-1)).astype(np.int64)


def _name(label: int, class_names) -> str:
    return str(class_names[label]) if class_names is not None else str(label)


def _value_range(x: np.ndarray) -> tuple[float, float]:
    """[0, 255] for integer pixels, [0, 1] for floats in it, else the data's own range."""
    top = 255.0 if np.issubdtype(x.dtype, np.integer) else 1.0
    lo, hi = float(np.min(x)), float(np.max(x))
    return (0.0, top) if lo >= 0 and hi <= top else (lo, max(hi, lo + 1.0))


def _class_ticks(ax, class_names) -> None:
    """One tick per class, rotated when the names are long (Fashion-MNIST's)."""
    long_names = max(len(str(n)) for n in class_names) > 3
    ax.set_xticks(range(len(class_names)), [str(n) for n in class_names], rotation=45 if long_names else 0,
                  ha="right" if long_names else "center", rotation_mode="anchor")  # fmt: skip


def _grid(images, titles, colors, cols: int, cmap=IMAGE_CMAP, vrange=(None, None), rows=None):
    """Images in a grid, axes off, each titled; cells past the last image stay blank."""
    rows = rows or math.ceil(len(images) / cols)
    fig, axes = _axes(rows, cols, figsize=(1.25 * cols, 1.4 * rows))
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i < len(images):
            ax.imshow(images[i], cmap=cmap, vmin=vrange[0], vmax=vrange[1], interpolation="nearest")
            ax.set_title(titles[i], fontsize=8, **({"color": colors[i]} if colors and colors[i] else {}))
    return fig, axes


def show_digit_grid(
    images, labels, class_names=None, rows: int = 2, cols: int = 10, predictions=None
) -> Figure:
    """The first ``rows * cols`` images in a grid, titled with their labels (``label→pred``, red if wrong)."""
    x, y = _images(images), _labels(labels)
    n = min(len(x), rows * cols)
    titles, colors = [_name(y[i], class_names) for i in range(n)], None
    if predictions is not None:
        p = _labels(predictions)
        titles = [f"{titles[i]}{ARROW}{_name(p[i], class_names)}" for i in range(n)]
        colors = [WRONG_COLOR if p[i] != y[i] else None for i in range(n)]
    return _grid(x[:n], titles, colors, cols, vrange=_value_range(x[:n]), rows=rows)[0]


def show_pixel_values(image) -> Figure:
    """One image as a heat-map with every pixel's value written in its cell: an image is a grid of numbers."""
    x = np.squeeze(np.asarray(image))
    integer = np.issubdtype(x.dtype, np.integer)
    vmin, vmax = _value_range(x)
    fig, axes = _axes(1, 1, figsize=(0.3 * x.shape[1] + 1.2, 0.3 * x.shape[0] + 0.4))
    im = axes[0, 0].imshow(x, cmap=IMAGE_CMAP, vmin=vmin, vmax=vmax, interpolation="nearest")
    for (r, c), v in np.ndenumerate(x):
        dark = (v - vmin) / (vmax - vmin) < 0.5
        text = f"{int(v)}" if integer else f"{v:.1f}"
        axes[0, 0].text(c, r, text, ha="center", va="center", fontsize=6, color="white" if dark else "black")
    axes[0, 0].set(xlabel="column", ylabel="row")
    fig.colorbar(im, ax=axes[0, 0], shrink=0.8, label="pixel value")
    return fig


def show_class_balance(labels, class_names: Sequence[str]) -> Figure:
    """How many examples each class has, as bars with the counts written on them."""
    counts = np.bincount(_labels(labels), minlength=len(class_names))
    fig, axes = _axes(1, 1, figsize=(max(6.0, 0.7 * len(class_names)), 3.5))
    axes[0, 0].bar_label(
        axes[0, 0].bar(range(len(class_names)), counts, color=BAR_COLOR), fontsize=8, padding=2
    )
    axes[0, 0].margins(y=0.12)
    _class_ticks(axes[0, 0], class_names)
    axes[0, 0].set(ylabel="examples", title=f"Examples per class ({counts.sum()} in all)")
    return fig


def show_mean_images(images, labels, class_names: Sequence[str]) -> Figure:
    """The average image of each class, side by side: what a "typical" example of each class looks like."""
    x, y = _images(images), _labels(labels)
    means = [
        x[y == k].mean(axis=0) if np.any(y == k) else np.zeros(x.shape[1:]) for k in range(len(class_names))
    ]
    titles = [str(name) for name in class_names]
    return _grid(means, titles, None, len(class_names), vrange=_value_range(x))[0]


def _history(history) -> Mapping[str, Sequence[float]]:
    """``History.history`` from a Keras ``History`` or the dict itself."""
    return getattr(history, "history", history)


def show_training_curves(history) -> Figure:
    """Loss and accuracy per epoch, training and validation: how learning went, and whether it overfits."""
    h = _history(history)
    if "loss" not in h:
        raise ValueError(
            _("history has no 'loss' key (keys: {keys}); pass History.history from fit()").format(
                keys=sorted(h)
            )
        )
    fig, axes = _axes(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes[0], ("loss", "accuracy"), strict=True):
        ax.set(title=key, xlabel="epoch", ylabel=key)
        for name, label in ((key, "train"), (f"val_{key}", "validation")):
            if name in h:
                ax.plot(range(1, len(h[name]) + 1), list(h[name]), marker="o", label=label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    return fig


def show_model_comparison_curves(histories: Mapping[str, Any], metric: str = "val_accuracy") -> Figure:
    """One line per named history for ``metric``, e.g. the lesson's model and an improved one."""
    fig, axes = _axes(1, 1, figsize=(7, 4))
    for name, history in histories.items():
        values = _history(history)[metric]
        axes[0, 0].plot(range(1, len(values) + 1), list(values), marker="o", label=str(name))
    axes[0, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set(xlabel="epoch", ylabel=metric, title=f"{metric} by epoch")
    axes[0, 0].legend()
    return fig


def format_probability(p: float, decimals: int = 2) -> str:
    """``p`` as a percentage that never reads 100% or 0% when it is not: ``0.999996`` gives ``">99.99%"``."""
    p, text = float(p), f"{float(p):.{decimals}%}"
    if p < 1 and text == f"{1:.{decimals}%}":
        return f">{100 - 10.0**-decimals:.{decimals}f}%"
    if p > 0 and text == f"{0:.{decimals}%}":
        return f"<{10.0**-decimals:.{decimals}f}%"
    return text


def show_probabilities(probabilities, class_names: Sequence[str], true_label: int | None = None) -> Figure:
    """The model's probability for each class, the predicted one highlighted (red if wrong); the true class,
    if given, has its bar outlined and its name in bold."""
    p = np.asarray(probabilities, dtype=float).reshape(-1)
    if np.any(p < -1e-6) or np.any(p > 1 + 1e-6):
        raise ValueError(_("probabilities must lie in [0, 1]; were these logits? Apply softmax first"))
    predicted = int(p.argmax())
    wrong = true_label is not None and int(true_label) != predicted
    colors = [BAR_COLOR] * len(p)
    colors[predicted] = WRONG_COLOR if wrong else HIGHLIGHT_COLOR
    fig, axes = _axes(1, 1, figsize=(max(6.0, 0.7 * len(class_names)), 3.5))
    ax = axes[0, 0]
    bars = ax.bar(range(len(p)), p, color=colors)
    ax.bar_label(
        bars, [format_probability(v, 1) if i == predicted else "" for i, v in enumerate(p)], fontsize=8
    )
    title = f"predicted {class_names[predicted]} ({format_probability(p[predicted], 1)})"
    ax.set_ylim(0, 1.15)  # room above a full bar for its label, below the title
    _class_ticks(ax, class_names)
    if true_label is not None:  # outlined bar and bold tick label: visible even when its bar is ~0 high
        title += f", true {class_names[int(true_label)]}"
        bars[int(true_label)].set(edgecolor="black", linewidth=2)
        ax.get_xticklabels()[int(true_label)].set_fontweight("bold")
    ax.set_ylabel("probability")
    ax.set_title(title, **({"color": WRONG_COLOR} if wrong else {}))
    return fig


def show_confusion_matrix(y_true, y_pred, class_names: Sequence[str]) -> Figure:
    """Counts of each (true, predicted) pair: which classes the model confuses with which."""
    from sklearn.metrics import ConfusionMatrixDisplay  # imported here: scikit-learn is slow to import

    t, p = _labels(y_true), _labels(y_pred)
    size = max(5.5, 0.6 * len(class_names))
    fig, axes = _axes(1, 1, figsize=(size, size))
    ConfusionMatrixDisplay.from_predictions(
        t, p, labels=range(len(class_names)), display_labels=[str(n) for n in class_names], ax=axes[0, 0],
        values_format="d", colorbar=False, cmap="Blues",
    )  # fmt: skip
    _class_ticks(axes[0, 0], class_names)
    axes[0, 0].set_title(f"Confusion matrix: {len(t)} examples, accuracy {np.mean(t == p):.1%}")
    return fig


def show_mistakes(images, y_true, y_pred, class_names: Sequence[str], max_images: int = 20, cols: int = 10):
    """The misclassified images (the first ``max_images``), titled ``true→pred``; "No mistakes" if none."""
    x, t, p = _images(images), _labels(y_true), _labels(y_pred)
    wrong = np.flatnonzero(t != p)
    if len(wrong) == 0:
        fig, axes = _axes(1, 1, figsize=(4, 1.5))
        axes[0, 0].set_axis_off()
        axes[0, 0].text(0.5, 0.5, "No mistakes", ha="center", va="center", fontsize=14)
        axes[0, 0].set_title(f"0 of {len(x)} examples misclassified", fontsize=9)
        return fig
    shown = wrong[:max_images]
    titles = [f"{_name(t[i], class_names)}{ARROW}{_name(p[i], class_names)}" for i in shown]
    fig, _axes_ = _grid(
        x[shown], titles, [WRONG_COLOR] * len(shown), min(cols, len(shown)), vrange=_value_range(x)
    )
    more = f" (first {len(shown)} shown)" if len(shown) < len(wrong) else ""
    fig.suptitle(f"{len(wrong)} of {len(x)} examples misclassified{more}, titled true{ARROW}predicted")
    return fig


def show_feature_maps(activations, max_maps: int = 32, cols: int = 8, title: str | None = None) -> Figure:
    """One small image per channel of a layer's output for one input, (H, W, C) or (1, H, W, C): what each
    filter responds to. Each map gets its own colour scale."""
    a = np.asarray(activations)
    a = a[0] if a.ndim == 4 else a
    n = min(a.shape[-1], max_maps)
    maps = np.moveaxis(a[..., :n], -1, 0)
    fig, _axes_ = _grid(maps, [f"#{i}" for i in range(n)], None, min(cols, n), cmap="viridis")
    count = f"{n} of {a.shape[-1]}" if n < a.shape[-1] else f"{n}"
    fig.suptitle(title or f"{count} feature maps, {a.shape[0]}\u00d7{a.shape[1]} each")
    return fig


def show_filters(kernel, cols: int = 8) -> Figure:
    """The first convolution layer's filters, (kh, kw, 1, n) as ``get_weights()[0]`` gives them: one small
    image each, blue negative and red positive, on one scale centred at 0."""
    k = np.asarray(kernel, dtype=float)
    k = k[:, :, 0, :] if k.ndim == 4 else k
    n, limit = k.shape[-1], float(np.abs(k).max()) or 1.0
    fig, axes = _grid(np.moveaxis(k, -1, 0), [f"#{i}" for i in range(n)], None, min(cols, n), cmap="RdBu_r",
                      vrange=(-limit, limit))  # fmt: skip
    fig.colorbar(axes.flat[0].images[0], ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"{n} filters, {k.shape[0]}\u00d7{k.shape[1]} each")
    return fig
