"""The exercises of 01_data.ipynb (the data): ``nb01.q1`` and on, with their checkers."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from course_utils.exercises.checking import (
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_images,
    as_labels,
    as_number,
    as_shape,
    as_whole_number,
    is_close,
    right,
    wrong,
)
from course_utils.i18n import N_, _

DIGIT_TO_COUNT = 7


def _check_class_count(answer, train_labels) -> Verdict:
    labels = as_labels(train_labels, "train_labels")
    counts = np.bincount(labels, minlength=DIGIT_TO_COUNT + 1)
    truth = int(counts[DIGIT_TO_COUNT])
    if isinstance(answer, Mapping) or (isinstance(answer, np.ndarray) and answer.size == counts.size > 1):
        return wrong(_("You gave the count of every digit; the question wants one of them, the 7s."))
    if isinstance(answer, np.ndarray) and answer.size == labels.size > 1:
        return wrong(
            _(
                "That is one value per image (a True/False mask, or the labels themselves). Count the 7s: "
                "add the mask up with .sum()."
            )
        )
    count = as_whole_number(answer, N_("a count, a whole number"))
    if count == truth:
        return right(
            _("There are {count:,} training images of a 7, {share:.1%} of the training set.").format(
                count=truth, share=truth / labels.size
            )
        )
    if count == labels.size:
        return wrong(_("{count:,} is every training image; count only those labelled 7.").format(count=count))
    others = [str(digit) for digit, n in enumerate(counts) if n == count and digit != DIGIT_TO_COUNT]
    if others:
        return wrong(
            _("{count:,} is the number of {digits}s; the question is about the digit 7.").format(
                count=count, digits=_(" and ").join(others)
            )
        )
    if count > truth:
        message = _("{count:,} is too many: it is not the number of labels equal to 7 in train_labels.")
    else:
        message = _("{count:,} is too few: it is not the number of labels equal to 7 in train_labels.")
    return wrong(message.format(count=count))


RAW_PIXEL = 51


def _check_scaled_pixel(answer) -> Verdict:
    value = as_number(answer, N_("a number such as 0.5"))
    truth = RAW_PIXEL / 255
    if is_close(value, truth, 1e-4):
        return right(
            _(
                "51 / 255 = 0.2. Every pixel is divided by 255, the largest raw value, so 0 stays 0 and 255 "
                "becomes exactly 1.0."
            )
        )
    known = [
        (RAW_PIXEL, _("51 is the raw value, before scaling. The scaling step divides every pixel by 255.")),
        (
            RAW_PIXEL / 256,
            _(
                "You divided by 256, the number of possible values. The largest value is 255: dividing by "
                "255 maps it to exactly 1.0."
            ),
        ),
        (1 - truth, _("That is 1 - 51/255: scaling does not invert the picture, dark stays dark.")),
        (RAW_PIXEL / 127.5 - 1, _("That maps pixels to [-1, 1]; the course scales them to [0, 1].")),
        (RAW_PIXEL * 255, _("You multiplied by 255; the scaling divides.")),
    ]
    for value_of_mistake, reason in known:
        if is_close(value, value_of_mistake, 1e-4):
            return wrong(reason)
    if not 0 <= value <= 1:
        return wrong(
            _("After scaling every pixel lies between 0 and 1; {value:g} does not.").format(value=value)
        )
    return wrong(_("{value:g} is not the raw value divided by 255.").format(value=value))


def _check_reshaped_shape(answer, test_images) -> Verdict:
    n = len(as_images(test_images, "test_images"))
    shape = as_shape(answer)
    truth = (n, 28, 28, 1)
    if shape == truth:
        return right(
            _(
                "{shape}: {count:,} images of 28 rows, 28 columns and 1 channel (samples, height, "
                "width, channels)."
            ).format(shape=truth, count=n)
        )
    reasons = {
        (
            n,
            28,
            28,
        ): _("That is the shape before the reshape: the channel axis (1, for grey) is missing at the end."),
        (28, 28, 1): _("That is one image's shape. test_images holds many; the first axis counts them."),
        (n, 1, 28, 28): _(
            "That puts the channels first. Keras, and this course, put them last: (samples, height, width, "
            "channels)."
        ),
        (
            n,
            784,
        ): _("That is each image flattened into one row of 784 values; the reshape keeps the grid."),
        (
            -1,
            28,
            28,
            1,
        ): _(
            "-1 is what you write in reshape to let NumPy work the number out; the shape holds the actual "
            "number of test images."
        ),
        (
            None,
            28,
            28,
            1,
        ): _(
            "None stands for 'any number of images' in a model summary; the array has a definite number of "
            "test images."
        ),
    }
    if shape in reasons:
        return wrong(reasons[shape])
    if shape[1:] == (28, 28, 1) and len(shape) == 4:
        return wrong(
            _(
                "The last three are right. The first counts the test images, and there are not {count:,}."
            ).format(count=shape[0])
        )
    return wrong(_("{shape} is not it: think (samples, height, width, channels).").format(shape=shape))


def _check_mean_seven(mean_seven, train_images, train_labels) -> Verdict:
    images = as_images(train_images, "train_images").astype(np.float64)
    labels = as_labels(train_labels, "train_labels")
    if len(images) != len(labels):
        raise ContextError(_("train_images and train_labels differ in length"))
    sevens = images[labels == DIGIT_TO_COUNT]
    truth = sevens.mean(axis=0)
    if isinstance(mean_seven, numbers.Number) or np.ndim(mean_seven) == 0:
        return wrong(
            _(
                "That is one number, the mean of every pixel of every 7 together. Average over the images "
                "only, with .mean(axis=0), so that each pixel keeps its own mean."
            )
        )
    answer = np.asarray(mean_seven, dtype=np.float64)
    if answer.shape != truth.shape and answer.size == truth.size:
        answer = answer.reshape(truth.shape)  # (28, 28) for a (28, 28, 1) image is fine
    if answer.shape != truth.shape:
        return wrong(
            _("Expected one image, shaped {shape}; got an array of shape {got}.").format(
                shape=truth.shape, got=np.shape(mean_seven)
            )
        )
    if np.allclose(answer, truth, atol=1e-4):
        return right(
            _(
                "The mean of {count:,} images of a 7. Its brightest pixels ({top:.2f}) lie where most "
                "writers put their stroke; the blur around them shows how much they vary."
            ).format(count=len(sevens), top=float(truth.max()))
        )
    if np.allclose(answer, images.mean(axis=0), atol=1e-4):
        return wrong(
            _(
                "That is the mean of every training image. Keep only the 7s first: train_labels == 7 "
                "selects them."
            )
        )
    for digit in range(int(labels.max()) + 1):
        others = images[labels == digit]
        if digit != DIGIT_TO_COUNT and len(others) and np.allclose(answer, others.mean(axis=0), atol=1e-4):
            return wrong(_("That is the mean image of the digit {digit}, not of the 7s.").format(digit=digit))
    if np.allclose(answer, sevens.sum(axis=0), atol=1e-3):
        return wrong(_("That is the sum of the 7s; divide by their number, or use .mean(axis=0)."))
    return wrong(_("That is not the pixel-by-pixel mean of the training images labelled 7."))


nb01 = ExerciseSet(
    "nb01",
    "01_data.ipynb",
    Exercise(
        N_("Count the 7s"),
        N_("How many training images show the digit 7? Compute it from `train_labels` with NumPy."),
        _check_class_count,
        hint=N_(
            "`train_labels == 7` is a True/False array, one per image. What does `.sum()` do to it? "
            "(`np.bincount` above counts every digit at once, too.)"
        ),
        solution=N_(
            "`answer = int((train_labels == 7).sum())`, or `np.bincount(train_labels)[7]`. The "
            "number depends on the data: 400 on the offline sample, 6,265 on full MNIST."
        ),
        usage="check(answer, train_labels)",
    ),
    Exercise(
        N_("The scaling step"),
        N_("A pixel's raw value is 51. What is its value after the scaling step of this notebook?"),
        _check_scaled_pixel,
        hint=N_(
            "The scaling step divides by one number, chosen so that the brightest possible pixel becomes 1.0."
        ),
        solution=N_(
            "`answer = 51 / 255`, which is 0.2. Dividing by 255 maps the raw range 0..255 onto 0..1."
        ),
    ),
    Exercise(
        N_("The shape after the reshape"),
        N_(
            "What is the shape of `test_images` now, after the reshape? Write it as a tuple, working it out "
            "from what you know rather than printing it."
        ),
        _check_reshaped_shape,
        hint=N_(
            "The reshape keeps the number of images (`len(test_images)`) and gives each one "
            "(height, width, channels)."
        ),
        solution=N_(
            "`answer = (len(test_images), 28, 28, 1)`: 1,000 images on the offline sample, 10,000 on "
            "full MNIST, each 28 x 28 with 1 channel. `test_images.shape` confirms it."
        ),
        usage="check(answer, test_images)",
    ),
    Exercise(
        N_("The mean 7"),
        N_(
            "Write NumPy code that computes the *mean image* of the digit 7: the average, pixel by pixel, of "
            "all the training images labelled 7. Keep it in `mean_seven`; it has the shape of one image."
        ),
        _check_mean_seven,
        hint=N_(
            "`train_labels == 7` is True for each image of a 7; `train_images[train_labels == 7]` keeps "
            "those images. `.mean(axis=0)` averages over the first axis, the images, and keeps the pixels."
        ),
        solution=N_(
            "`mean_seven = train_images[train_labels == 7].mean(axis=0)`: one (28, 28, 1) image. "
            "`02_visualization.ipynb` draws the mean image of every digit."
        ),
        usage="check(mean_seven, train_images, train_labels)",
    ),
)
