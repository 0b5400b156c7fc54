"""The exercises of 06_your_digit.ipynb (your own digit): ``nb06.q1``, with its checker."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import (
    AnswerError,
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _

SHIFT = 4  # pixels to the right: the ink of a centred digit (within 20 x 20) stays inside the image


def _shifted(image: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``image`` moved ``rows`` down and ``cols`` right (negative: up, left), black where it was empty."""
    moved = np.zeros_like(image)
    height, width = image.shape[:2]
    src_rows = slice(max(0, -rows), height - max(0, rows))
    dst_rows = slice(max(0, rows), height - max(0, -rows))
    src_cols = slice(max(0, -cols), width - max(0, cols))
    dst_cols = slice(max(0, cols), width - max(0, -cols))
    moved[dst_rows, dst_cols] = image[src_rows, src_cols]
    return moved


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, atol=1e-6)


def _check_moved_digit(answer, x, model) -> Verdict:
    x = np.asarray(x, dtype=np.float32)
    if x.shape != (28, 28, 1):
        raise ContextError(
            _("x should be the prepared image, shape (28, 28, 1); got {got}").format(got=describe(x))
        )
    if not hasattr(answer, "__array__") and not isinstance(answer, (list, tuple)):
        raise AnswerError(
            _("Expected an image, an array of shape (28, 28, 1); got {got}.").format(got=describe(answer))
        )
    moved = np.asarray(answer, dtype=np.float32)
    if moved.size == x.size and moved.shape != x.shape:
        return wrong(
            _("Keep the shape (28, 28, 1), the form the model takes; yours is {shape}.").format(
                shape=moved.shape
            )
        )
    if moved.shape != x.shape:
        raise AnswerError(_("Expected an image of shape (28, 28, 1); got {got}.").format(got=describe(moved)))
    if _same(moved, x):
        return wrong(_("That is x itself, not moved."))
    truth = _shifted(x, 0, SHIFT)
    if _same(moved, truth) or _same(moved, np.roll(x, SHIFT, axis=1)):
        images = np.stack([x, moved])
        probabilities = np.asarray(model.predict(images, verbose=0), dtype=np.float64)
        probabilities = np.exp(probabilities - probabilities.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        before, after = probabilities.argmax(axis=1)
        return right(
            _(
                "The model reads the centred digit as {before} ({p_before:.0%} sure) and the moved one as "
                "{after} ({p_after:.0%} sure). Where the answer or its certainty changes, it is because the "
                "model has only seen centred digits; 07's augmentation trains on moved ones."
            ).format(
                before=before,
                p_before=probabilities[0, before],
                after=after,
                p_after=probabilities[1, after],
            )
        )
    for rows in range(-8, 9):
        for cols in range(-8, 9):
            if (rows, cols) == (0, 0) or not _same(moved, _shifted(x, rows, cols)):
                continue
            if cols == 0 and rows == SHIFT:
                return wrong(_("You moved it down: axis 0 is the rows, axis 1 the columns."))
            if rows == 0 and cols == -SHIFT:
                return wrong(_("You moved it to the left; to the right, the column numbers grow."))
            return wrong(
                _("You moved it {rows} rows down and {cols} columns to the right; move it 0 and 4.").format(
                    rows=rows, cols=cols
                )
            )
    return wrong(
        _(
            "That is not x moved 4 pixels to the right. Build the moved image from x alone, for example with "
            "np.roll along axis 1."
        )
    )


nb06 = ExerciseSet(
    "nb06",
    "06_your_digit.ipynb",
    Exercise(
        N_("Move the digit"),
        N_(
            "Write code that moves the prepared image `x` 4 pixels to the right, keeping its shape "
            "(28, 28, 1)."
        ),
        _check_moved_digit,
        hint=N_(
            "The columns are axis 1 of `x`. `np.roll(x, 4, axis=1)` moves every column 4 places to the right "
            "(the last columns come back on the left, and they are black here); or copy `x[:, :-4]` into "
            "columns 4 onwards of `np.zeros_like(x)`."
        ),
        solution=N_(
            "Roll the columns, axis 1, by 4:\n\n"
            "```python\n"
            "answer = np.roll(x, 4, axis=1)\n"
            "```\n\n"
            "The columns that roll over the right edge come back on the left, but a prepared digit leaves "
            "them black, so this is the same as moving it into an empty image."
        ),
        usage="check(answer, x, model)",
    ),
)
