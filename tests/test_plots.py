"""course_utils.plots: each plot draws what it is given, rejects what it cannot show, and saves real PNGs."""

import matplotlib

matplotlib.use("Agg")

import io
import types
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from course_utils import plots
from course_utils.data import DATASETS

DIGITS = [str(d) for d in range(10)]
FASHION = list(DATASETS["fashion_mnist"].class_names)
ARROW = "\u2192"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def digits(rng, n, channel=True):
    """n fake 28 x 28 digits in [0, 1], shaped like the course's data."""
    x = rng.random((n, 28, 28)).astype("float32")
    return x[..., np.newaxis] if channel else x


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


def render(fig):
    """Draw the figure as a notebook would, failing on any warning (missing glyph, layout trouble)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


# --- show_digit_grid -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", [True, False])
def test_digit_grid_shows_first_rows_times_cols_titled_with_labels(rng, channel):
    x, y = digits(rng, 25, channel), rng.integers(0, 10, 25)
    fig = plots.show_digit_grid(x, y, rows=2, cols=10)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 20
    shown = image_axes(fig)
    assert len(shown) == 20
    assert [ax.get_title() for ax in shown] == [str(v) for v in y[:20]]
    np.testing.assert_array_equal(shown[3].images[0].get_array(), np.asarray(x[3]).reshape(28, 28))
    assert all(not ax.axison for ax in fig.axes)
    assert shown[0].images[0].get_cmap().name == "gray"


def test_digit_grid_uses_class_names_and_leaves_spare_cells_blank(rng):
    y = np.array([0, 9, 3, 3, 1, 8, 7])
    fig = plots.show_digit_grid(digits(rng, 7), y, class_names=FASHION, rows=2, cols=5)
    assert len(fig.axes) == 10
    shown = image_axes(fig)
    assert [ax.get_title() for ax in shown] == [FASHION[v] for v in y]
    blank = [ax for ax in fig.axes if not ax.images]
    assert len(blank) == 3 and all(ax.get_title() == "" and not ax.axison for ax in blank)


def test_digit_grid_with_predictions_marks_wrong_ones_red(rng):
    y = np.array([1, 2, 3, 4])
    pred = np.array([1, 7, 3, 0])
    fig = plots.show_digit_grid(digits(rng, 4), y, DIGITS, rows=1, cols=4, predictions=pred)
    titles = [ax.title for ax in image_axes(fig)]
    assert [t.get_text() for t in titles] == [f"1{ARROW}1", f"2{ARROW}7", f"3{ARROW}3", f"4{ARROW}0"]
    red = to_rgba(plots.WRONG_COLOR)
    assert [to_rgba(t.get_color()) == red for t in titles] == [False, True, False, True]
    render(fig)


def test_digit_grid_takes_one_hot_labels_and_predicted_probabilities(rng):
    y = np.array([5, 6, 7])
    probs = np.eye(10)[[5, 0, 7]] * 0.9 + 0.01
    fig = plots.show_digit_grid(digits(rng, 3), np.eye(10)[y], rows=1, cols=3, predictions=probs)
    assert [ax.get_title() for ax in image_axes(fig)] == [f"5{ARROW}5", f"6{ARROW}0", f"7{ARROW}7"]


# --- show_pixel_values -----------------------------------------------------------------------------------


def test_pixel_values_writes_every_pixel_contrasting_with_its_cell():
    image = np.zeros((28, 28, 1), dtype="float32")
    image[10:18, 12:16] = 1.0
    image[5, 5] = 0.26
    fig = plots.show_pixel_values(image)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), image[..., 0])
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
    assert len(texts) == 28 * 28
    assert texts[(0, 0)].get_text() == "0.0" and texts[(0, 0)].get_color() == "white"  # black cell
    assert texts[(12, 13)].get_text() == "1.0" and texts[(12, 13)].get_color() == "black"  # white cell
    assert texts[(5, 5)].get_text() == "0.3"
    render(fig)


def test_pixel_values_writes_integers_for_integer_images():
    image = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    fig = plots.show_pixel_values(image)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["0", "1", "2"] and texts[-1] == str(image[-1, -1])
    assert fig.axes[0].images[0].norm.vmax == 255


# --- show_class_balance and show_mean_images -------------------------------------------------------------


def test_class_balance_bars_are_the_counts_and_say_so(rng):
    y = rng.integers(0, 10, 300)
    y[y == 4] = 5  # a class with no examples still gets its (empty) bar
    fig = plots.show_class_balance(y, FASHION)
    ax = fig.axes[0]
    counts = np.bincount(y, minlength=10)
    assert [p.get_height() for p in ax.patches] == counts.tolist()
    assert [t.get_text() for t in ax.texts] == [str(c) for c in counts]
    assert [t.get_text() for t in ax.get_xticklabels()] == FASHION
    assert ax.get_xticklabels()[0].get_rotation() == 45  # long names are rotated
    render(fig)


def test_mean_images_are_the_class_means(rng):
    x = digits(rng, 60)
    y = np.arange(60) % 3  # classes 0-2 only; 3 has none
    fig = plots.show_mean_images(x, y, ["a", "b", "c", "d"])
    assert len(fig.axes) == 4
    for k in range(3):
        ax = fig.axes[k]
        assert ax.get_title() == "abc"[k]
        np.testing.assert_allclose(ax.images[0].get_array(), x[y == k, :, :, 0].mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(fig.axes[3].images[0].get_array(), 0)  # no example: a blank image


# --- show_training_curves and show_model_comparison_curves ------------------------------------------------


HISTORY = {
    "loss": [0.9, 0.5, 0.3],
    "accuracy": [0.7, 0.85, 0.9],
    "val_loss": [0.6, 0.45, 0.4],
    "val_accuracy": [0.8, 0.86, 0.88],
}


def test_training_curves_plot_the_history_from_epoch_one():
    fig = plots.show_training_curves(HISTORY)
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_title() == "loss" and acc_ax.get_title() == "accuracy"
    for ax, key in ((loss_ax, "loss"), (acc_ax, "accuracy")):
        train, val = ax.lines
        np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
        np.testing.assert_array_equal(train.get_ydata(), HISTORY[key])
        np.testing.assert_array_equal(val.get_ydata(), HISTORY[f"val_{key}"])
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "validation"]
        assert ax.get_xlabel() == "epoch"
    render(fig)


def test_training_curves_take_a_history_object_without_validation():
    history = types.SimpleNamespace(history={"loss": [1.0, 0.5], "accuracy": [0.5, 0.75]})
    fig = plots.show_training_curves(history)
    assert [len(ax.lines) for ax in fig.axes] == [1, 1]
    np.testing.assert_array_equal(fig.axes[1].lines[0].get_ydata(), [0.5, 0.75])


def test_training_curves_name_the_missing_loss():
    with pytest.raises(ValueError, match="'loss'"):
        plots.show_training_curves({"accuracy": [0.5]})


def test_model_comparison_draws_one_named_line_per_history():
    improved = {"val_accuracy": [0.9, 0.95, 0.97, 0.98]}
    fig = plots.show_model_comparison_curves({"seed": HISTORY, "improved": improved})
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["seed", "improved"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), HISTORY["val_accuracy"])
    np.testing.assert_array_equal(ax.lines[1].get_xdata(), [1, 2, 3, 4])
    assert ax.get_ylabel() == "val_accuracy"
    fig = plots.show_model_comparison_curves({"seed": HISTORY}, metric="loss")
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), HISTORY["loss"])


# --- show_probabilities ----------------------------------------------------------------------------------


def test_probabilities_highlight_the_predicted_class(rng):
    p = rng.dirichlet(np.ones(10))
    fig = plots.show_probabilities(p, DIGITS)
    ax = fig.axes[0]
    assert ax.get_ylim()[1] > 1  # room for the predicted bar's label
    np.testing.assert_allclose([b.get_height() for b in ax.patches], p)
    highlighted = [i for i, b in enumerate(ax.patches) if b.get_facecolor() != to_rgba(plots.BAR_COLOR)]
    assert highlighted == [int(np.argmax(p))]
    assert ax.patches[highlighted[0]].get_facecolor() == to_rgba(plots.HIGHLIGHT_COLOR)
    render(fig)


def test_probabilities_mark_the_true_label_and_a_wrong_prediction():
    p = np.full(10, 0.02)
    p[3], p[8] = 0.7, 0.14
    fig = plots.show_probabilities(p[np.newaxis], DIGITS, true_label=8)
    ax = fig.axes[0]
    assert ax.patches[3].get_facecolor() == to_rgba(plots.WRONG_COLOR)
    assert ax.patches[8].get_linewidth() == 2 and ax.patches[3].get_linewidth() != 2
    assert ax.get_xticklabels()[8].get_fontweight() == "bold"
    assert "true 8" in ax.get_title()
    fig = plots.show_probabilities(p, DIGITS, true_label=3)
    assert fig.axes[0].patches[3].get_facecolor() == to_rgba(plots.HIGHLIGHT_COLOR)


def test_a_rounded_probability_says_it_was_rounded():
    assert plots.format_probability(0.999996) == ">99.99%"
    assert plots.format_probability(0.999996, 1) == ">99.9%"
    assert plots.format_probability(1.0) == "100.00%"
    assert plots.format_probability(0.5) == "50.00%"
    assert plots.format_probability(2e-7) == "<0.01%"
    assert plots.format_probability(0.0) == "0.00%"


def test_a_near_certain_bar_says_so_and_its_label_stays_clear_of_the_title():
    p = np.full(10, 4e-7)
    p[1] = 1 - p.sum() + p[1]
    fig = plots.show_probabilities(p, DIGITS, true_label=1)
    ax = fig.axes[0]
    assert render(fig).startswith(b"\x89PNG")
    labels = [t for t in ax.texts if t.get_text()]
    assert [t.get_text() for t in labels] == [">99.9%"]
    assert ax.get_title() == "predicted 1 (>99.9%), true 1"
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # the texts get their final positions
    renderer = canvas.get_renderer()
    label_box = labels[0].get_window_extent(renderer)
    title_box = ax.title.get_window_extent(renderer)
    assert not label_box.overlaps(title_box), (label_box, title_box)
    assert label_box.y1 <= ax.get_window_extent(renderer).y1  # inside the axes, not over the frame


def test_probabilities_reject_logits():
    with pytest.raises(ValueError, match="softmax"):
        plots.show_probabilities(np.linspace(-3, 3, 10), DIGITS)


# --- show_confusion_matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize("names", [DIGITS, FASHION])
def test_confusion_matrix_counts_are_sklearns(rng, names):
    y_true = rng.integers(0, 10, 200)
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 10, 200))
    y_pred[y_pred == 6] = 2  # a class never predicted keeps its column
    fig = plots.show_confusion_matrix(y_true, y_pred, names)
    ax = fig.axes[0]
    expected = confusion_matrix(y_true, y_pred, labels=range(10))
    np.testing.assert_array_equal(ax.images[0].get_array(), expected)
    cell_texts = [t.get_text() for t in ax.texts]
    assert sorted(cell_texts) == sorted(str(v) for v in expected.ravel())
    assert [t.get_text() for t in ax.get_xticklabels()] == names
    assert len(fig.axes) == 1  # no colour bar
    render(fig)


# --- show_mistakes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_wrong", "max_images", "shown"), [(7, 20, 7), (30, 20, 20), (30, 5, 5)])
def test_mistakes_shows_each_misclassified_image_up_to_the_cap(rng, n_wrong, max_images, shown):
    x = digits(rng, 50)
    y_true = rng.integers(0, 10, 50)
    y_pred = y_true.copy()
    wrong = np.sort(rng.choice(50, n_wrong, replace=False))
    y_pred[wrong] = (y_true[wrong] + 1) % 10
    fig = plots.show_mistakes(x, y_true, y_pred, DIGITS, max_images=max_images)
    axes = image_axes(fig)
    assert len(axes) == shown
    assert [ax.get_title() for ax in axes] == [f"{y_true[i]}{ARROW}{y_pred[i]}" for i in wrong[:shown]]
    np.testing.assert_array_equal(axes[0].images[0].get_array(), x[wrong[0], :, :, 0])
    assert fig.get_suptitle().startswith(f"{n_wrong} of 50")


def test_mistakes_says_so_when_there_are_none(rng):
    y = rng.integers(0, 10, 12)
    fig = plots.show_mistakes(digits(rng, 12), y, np.eye(10)[y], DIGITS)
    assert isinstance(fig, Figure)
    assert not image_axes(fig)
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["No mistakes"]
    render(fig)


# --- show_feature_maps and show_filters ------------------------------------------------------------------


def test_feature_maps_one_image_per_channel_capped(rng):
    a = rng.random((1, 26, 26, 40)).astype("float32")
    a[..., 1] = 0.0  # a dead channel draws too
    fig = plots.show_feature_maps(a, max_maps=32, cols=8)
    axes = image_axes(fig)
    assert len(axes) == 32 and len(fig.axes) == 32
    np.testing.assert_array_equal(axes[5].images[0].get_array(), a[0, :, :, 5])
    assert "32 of 40" in fig.get_suptitle()
    fig = plots.show_feature_maps(a[0, :, :, :5], title="conv1")
    assert len(image_axes(fig)) == 5 and fig.get_suptitle() == "conv1"
    render(fig)


def test_filters_one_image_each_on_a_scale_centred_at_zero(rng):
    kernel = rng.normal(0, 0.2, (3, 3, 1, 12))
    fig = plots.show_filters(kernel, cols=8)
    axes = image_axes(fig)
    assert len(axes) == 12
    np.testing.assert_array_equal(axes[7].images[0].get_array(), kernel[:, :, 0, 7])
    norms = {(ax.images[0].norm.vmin, ax.images[0].norm.vmax) for ax in axes}
    assert norms == {(-np.abs(kernel).max(), np.abs(kernel).max())}
    assert axes[0].images[0].get_cmap().name == "RdBu_r"
    render(fig)


# --- save_figure and global state ------------------------------------------------------------------------


def test_figures_are_not_registered_with_pyplot_and_rcparams_are_untouched(rng):
    before = dict(plt.rcParams)
    open_before = plt.get_fignums()
    y = rng.integers(0, 10, 20)
    figures = [
        plots.show_digit_grid(digits(rng, 20), y),
        plots.show_confusion_matrix(y, y[::-1], DIGITS),
        plots.show_training_curves(HISTORY),
    ]
    # Returned as a cell's last value, each is shown once; none piles up in pyplot's figure manager.
    assert plt.get_fignums() == open_before
    assert all(isinstance(fig, Figure) for fig in figures)
    assert dict(plt.rcParams) == before


def test_show_figures_inline_enables_the_inline_display_in_a_kernel_only(monkeypatch):
    import IPython

    calls = []

    class Shell:
        kernel = object()

        def enable_matplotlib(self, gui):
            calls.append(gui)

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    plots.show_figures_inline()
    assert calls == ["inline"]
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    plots.show_figures_inline()
    assert calls == ["inline"]
