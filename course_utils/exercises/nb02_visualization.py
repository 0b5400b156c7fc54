"""The exercises of 02_visualization.ipynb (looking at the data): ``nb02.q1`` and on, with their checkers."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import (
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_class,
    as_images,
    as_labels,
    as_number,
    class_label,
    is_close,
    right,
    wrong,
)
from course_utils.i18n import N_, _


def _check_mean_pixel(answer, images) -> Verdict:
    pixels = as_images(images, "images")
    truth = float(np.mean(pixels, dtype=np.float64))
    value = as_number(answer, N_("a number such as 0.5"))
    tolerance = 5e-4  # an answer rounded to three decimals is right
    if is_close(value, truth, tolerance):
        return right(
            _(
                "The mean pixel value is {mean:.3f}. It is low because most of every image is black "
                "background (0); the strokes, near 1, cover a small part."
            ).format(mean=truth)
        )
    if pixels.max() <= 1 and is_close(value, truth * 255, 255 * tolerance):
        return wrong(_("That is on the 0-255 scale of the raw bytes; train_images is scaled to [0, 1]."))
    if is_close(value, float(np.mean(pixels[0], dtype=np.float64)), tolerance):
        return wrong(
            _("That is the mean of the first image only; average over every image of the training set.")
        )
    if value == float(pixels.max()):
        return wrong(_("That is the largest pixel value, not the mean."))
    if value == 0:
        return wrong(
            _("0 is the most common pixel value (the background), but the ink pulls the mean above 0.")
        )
    if value > truth:
        message = _("{value:g} is too high for the mean of all the training set's pixels.")
    else:
        message = _("{value:g} is too low for the mean of all the training set's pixels.")
    return wrong(message.format(value=value))


def _check_brightest_class(answer, images, labels, class_names=None) -> Verdict:
    pixels = as_images(images, "images")
    labels = as_labels(labels, "labels")
    if len(pixels) != len(labels):
        raise ContextError(
            _("images and labels differ in length ({first} and {second})").format(
                first=len(pixels), second=len(labels)
            )
        )
    num_classes = max(len(class_names) if class_names is not None else 0, int(labels.max()) + 1)
    per_image = pixels.reshape(len(pixels), -1).mean(axis=1, dtype=np.float64)
    counts = np.bincount(labels, minlength=num_classes)
    means = np.bincount(labels, weights=per_image, minlength=num_classes) / np.maximum(counts, 1)
    means[counts == 0] = np.nan
    chosen = as_class(answer, num_classes, class_names)
    brightest, darkest = int(np.nanargmax(means)), int(np.nanargmin(means))
    if np.isclose(means[chosen], means[brightest], rtol=0, atol=1e-12):
        return right(
            _(
                "Class {label} has the brightest mean image (mean pixel {mean:.3f}); the darkest is "
                "{darkest} ({darkest_mean:.3f}). More ink, brighter mean."
            ).format(
                label=class_label(chosen, class_names),
                mean=means[chosen],
                darkest=class_label(darkest, class_names),
                darkest_mean=means[darkest],
            )
        )
    if np.isclose(means[chosen], means[darkest], rtol=0, atol=1e-12):
        return wrong(
            _(
                "Class {label} is the *darkest* (mean pixel {mean:.3f}): its strokes cover the fewest "
                "pixels. Look for the class with the most ink."
            ).format(label=class_label(chosen, class_names), mean=means[chosen])
        )
    brighter = int(np.sum(means > means[chosen]))
    return wrong(
        _(
            "The mean image of class {label} has mean pixel {mean:.3f}; {brighter} class(es) are brighter."
        ).format(label=class_label(chosen, class_names), mean=means[chosen], brighter=brighter)
    )


SEVEN = 7
ROW = 10


def _drawn_images(fig) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """(rows, columns, first place, last place) and the image of each axes of ``fig`` that shows one."""
    drawn = []
    for ax in fig.axes:
        images = ax.get_images()
        if not images:
            continue
        spec = ax.get_subplotspec()
        geometry = spec.get_geometry() if spec is not None else (0, 0, 0, 0)
        drawn.append((geometry, np.asarray(images[-1].get_array(), dtype=np.float64)))
    return drawn


def _check_sevens_row(fig, train_images, train_labels) -> Verdict:
    if not hasattr(fig, "axes") or not hasattr(fig, "add_subplot"):
        raise ContextError(_("pass the figure fig that the cell starts with plt.figure"))
    images = as_images(train_images, "train_images")
    labels = as_labels(train_labels, "train_labels")
    sevens = images[labels == SEVEN][:ROW]
    drawn = _drawn_images(fig)
    if not drawn:
        return wrong(
            _(
                "The figure is empty. In a loop over range(10), pick place i + 1 with plt.subplot(1, 10, "
                "i + 1), then draw one image there with plt.imshow."
            )
        )
    if len(drawn) != ROW:
        return wrong(
            _("The figure shows {count} images; draw exactly ten, one in each place.").format(
                count=len(drawn)
            )
        )
    rows, cols = drawn[0][0][:2]
    if (rows, cols) != (1, ROW):
        return wrong(
            _(
                "The grid has {rows} row(s) of {cols} places; the task asks for 1 row of 10: "
                "plt.subplot(1, 10, i + 1)."
            ).format(rows=rows, cols=cols)
        )
    for place, (_geometry, picture) in enumerate(sorted(drawn, key=lambda d: d[0][2])):
        expected = sevens[place].reshape(picture.shape) if sevens[place].size == picture.size else None
        if expected is not None and np.allclose(picture, expected):
            continue
        matches = [
            int(labels[i])
            for i in range(len(images))
            if images[i].size == picture.size and np.allclose(images[i].reshape(picture.shape), picture)
        ]
        if matches and matches[0] != SEVEN:
            return wrong(
                _(
                    "Place {place} shows a training image of a {digit}. Select the 7s first: "
                    "train_images[train_labels == 7]."
                ).format(place=place + 1, digit=matches[0])
            )
        return wrong(
            _("Place {place} does not show the {nth} 7 of train_images: draw them in order.").format(
                place=place + 1, nth=place + 1
            )
        )
    return right(
        _(
            "Ten 7s in a row. Some have a bar across the middle, some a hook at the top, some lean: the "
            "network must learn that all of them are a 7."
        )
    )


nb02 = ExerciseSet(
    "nb02",
    "02_visualization.ipynb",
    Exercise(
        N_("The mean pixel value"),
        N_(
            "What is the mean pixel value of the whole training set, `train_images`? Round to three decimals."
        ),
        _check_mean_pixel,
        hint=N_("NumPy's `np.mean` averages every value of an array, whatever its shape."),
        solution=N_(
            "`answer = float(train_images.mean())`: about 0.13 on MNIST. Most pixels are background "
            "(0), so the mean is far below the ink's brightness."
        ),
        usage="check(answer, train_images)",
    ),
    Exercise(
        N_("The brightest class"),
        N_(
            "Whose mean image is brightest, that is, which class has the highest mean pixel value? Look at "
            "the mean images above, then answer with the class number."
        ),
        _check_brightest_class,
        hint=N_(
            "A brighter mean image means more ink per image on average. Which digit's strokes cover the "
            "most pixels? To compute it: `train_images[train_labels == c].mean()` for each class `c`."
        ),
        solution=N_(
            "Compute the mean pixel of each class and take the largest:\n\n"
            "```python\n"
            "import numpy as np\n\n"
            "means = [train_images[train_labels == c].mean() for c in range(data.num_classes)]\n"
            "answer = int(np.argmax(means))\n"
            "```\n\n"
            "On MNIST it is 0 (a long closed loop); the darkest is 1 (a single stroke)."
        ),
        usage="check(answer, train_images, train_labels, data.class_names)",
    ),
    Exercise(
        N_("Ten 7s in a row"),
        N_(
            "Draw the first ten training images of the digit 7 in one row of ten, with `plt.subplot` and "
            "`plt.imshow` as in the blog's grid, on the figure `fig` that the cell starts. Write your code "
            "in place of the comment."
        ),
        _check_sevens_row,
        hint=N_(
            "`train_images[train_labels == 7]` keeps the images of a 7. Then, as in the blog's grid, loop "
            "`for i in range(10):` and call `plt.subplot(1, 10, i + 1)` and `plt.imshow(...)` in the loop."
        ),
        solution=N_(
            "```python\n"
            "fig = plt.figure(figsize=(20, 2))\n"
            "sevens = train_images[train_labels == 7]\n"
            "for i in range(10):\n"
            "    plt.subplot(1, 10, i + 1)\n"
            "    plt.imshow(sevens[i], cmap=plt.cm.binary)\n"
            "```"
        ),
        usage="check(fig, train_images, train_labels)",
    ),
)
