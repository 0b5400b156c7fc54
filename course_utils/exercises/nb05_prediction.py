"""The exercises of 05_prediction.ipynb (prediction): ``nb05.q1`` and on, with their checkers."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import (
    Exercise,
    ExerciseSet,
    Verdict,
    as_class,
    as_number,
    as_pair,
    confusion_counts,
    is_close,
    right,
    wrong,
)
from course_utils.i18n import N_, _

SOFTMAX_LOGITS = (3.0, 1.0, 0.0)


def _check_softmax(answer) -> Verdict:
    if isinstance(answer, (list, tuple, np.ndarray)) and np.size(answer) == len(SOFTMAX_LOGITS):
        return wrong(_("Expected one number, the probability of the first class; you gave all three."))
    value = as_number(answer, N_("a probability, a number between 0 and 1"))
    exps = np.exp(SOFTMAX_LOGITS)
    truth = float(exps[0] / exps.sum())
    tolerance = 5e-4
    if is_close(value, truth, tolerance):
        return right(
            _(
                "e^3 / (e^3 + e^1 + e^0) = {probability:.4f}. The largest logit gets most of the "
                "probability, "
                "but not all."
            ).format(probability=truth)
        )
    reasons = [
        (3 / 4, _("You divided each logit by their sum (3 / 4). Softmax exponentiates first, then divides.")),
        (
            1.0,
            _(
                "A probability of 1 would mean the other classes get nothing; softmax gives every "
                "class a share."
            ),
        ),
        (3.0, _("3 is the logit itself, a score; softmax turns it into a probability between 0 and 1.")),
        (float(exps[0]), _("That is e^3; now divide it by the sum of all three exponentials.")),
        (1 / 3, _("That is an even split; softmax favours the class with the largest logit.")),
    ]
    for mistake, reason in reasons:
        if is_close(value, mistake, tolerance):
            return wrong(reason)
    if not 0 <= value <= 1:
        return wrong(_("A probability lies between 0 and 1; {value:g} does not.").format(value=value))
    return wrong(_("{value:g} is not e^3 / (e^3 + e^1 + e^0).").format(value=value))


def _check_confused_pair(answer, y_true, y_pred) -> Verdict:
    matrix = confusion_counts(y_true, y_pred)
    both = matrix + matrix.T
    np.fill_diagonal(both, 0)
    top = int(both.max())
    a, b = as_pair(answer, len(matrix))
    if a == b:
        return wrong(
            _(
                "({a}, {a}) is on the diagonal: the {count} {a}s the model got right. A confusion "
                "involves two "
                "different digits."
            ).format(a=a, count=matrix[a, a])
        )
    if top == 0:
        return right(_("The model made no mistakes at all, so no pair of digits is confused."))
    n = int(both[a, b])
    if n == top:
        tied = [(i, j) for i, j in zip(*np.nonzero(np.triu(both) == top), strict=True) if {i, j} != {a, b}]
        pairs = ", ".join(f"({i}, {j})" for i, j in tied)
        also = " " + _("(tied with {pairs})").format(pairs=pairs) if tied else ""
        return right(
            _(
                "{a} and {b} are confused {count} times{also}: {ab} images of {a} were read as {b}, and {ba} "
                "images of {b} as {a}."
            ).format(a=a, b=b, count=n, also=also, ab=matrix[a, b], ba=matrix[b, a])
        )
    single = matrix.copy()
    np.fill_diagonal(single, 0)
    if max(matrix[a, b], matrix[b, a]) == single.max():
        return wrong(
            _(
                "That pair holds the largest single cell, but count both directions: {a} and {b} are "
                "confused {count} times in all, and another pair more often ({top} times)."
            ).format(a=a, b=b, count=n, top=top)
        )
    if n == 0:
        return wrong(_("The model never confused {a} and {b}: both cells are 0.").format(a=a, b=b))
    return wrong(
        _(
            "{a} and {b} are confused {count} times (both directions); another pair more often ({top} "
            "times). Look for the largest cells off the diagonal."
        ).format(a=a, b=b, count=n, top=top)
    )


def _check_most_missed_class(answer, y_true, y_pred) -> Verdict:
    matrix = confusion_counts(y_true, y_pred)
    per_row = matrix.sum(axis=1)
    missed = per_row - np.diag(matrix)
    wrongly_answered = matrix.sum(axis=0) - np.diag(matrix)
    digit = as_class(answer, len(matrix))
    if missed.max() == 0:
        return right(_("The model made no mistakes at all, so no digit is misread."))
    if missed[digit] == missed.max():
        return right(
            _(
                "{missed} of the {total} test images of {digit} were misread ({share:.1%}), the most of any "
                "digit."
            ).format(
                missed=missed[digit], total=per_row[digit], digit=digit, share=missed[digit] / per_row[digit]
            )
        )
    if wrongly_answered[digit] == wrongly_answered.max():
        return wrong(
            _(
                "{digit} is the answer the model most often gives wrongly ({count} times, in column "
                "{digit}). The mistakes on a true digit lie along its row, not its column."
            ).format(digit=digit, count=wrongly_answered[digit])
        )
    rates = missed / np.maximum(per_row, 1)
    if rates[digit] == rates.max():
        return wrong(
            _(
                "{digit} has the largest *share* misread ({share:.1%}), but the question counts images: "
                "another digit has more misread ({most} against {missed})."
            ).format(digit=digit, share=rates[digit], most=missed.max(), missed=missed[digit])
        )
    return wrong(
        _(
            "{missed} test images of {digit} were misread; another digit has more ({most}). Add up each row "
            "without its diagonal cell."
        ).format(missed=missed[digit], digit=digit, most=missed.max())
    )


nb05 = ExerciseSet(
    "nb05",
    "05_prediction.ipynb",
    Exercise(
        N_("Softmax by hand"),
        N_(
            "A three-class model outputs the logits `[3.0, 1.0, 0.0]`. What probability does softmax "
            "give the "
            "first class? Three decimals are enough."
        ),
        _check_softmax,
        hint=N_("Exponentiate each logit (`np.exp`), then divide the first by the sum of all three."),
        solution=N_(
            "`answer = np.exp(3) / (np.exp(3) + np.exp(1) + np.exp(0))`, about 0.844. Or with Keras: "
            "`keras.ops.softmax(np.array([3.0, 1.0, 0.0]))[0]`."
        ),
    ),
    Exercise(
        N_("The most confused pair"),
        N_(
            "Which two digits does the model confuse most often, counting both directions (a 4 read as a 9 "
            "and a 9 read as a 4 add up)? Answer with a pair such as `(4, 9)`; the order does not matter."
        ),
        _check_confused_pair,
        hint=N_(
            "In the confusion matrix, cell (i, j) counts the i's read as j. Add cell (i, j) and cell (j, "
            "i) for every pair and find the largest: `cm + cm.T`, ignoring the diagonal."
        ),
        solution=N_(
            "Add the matrix to its transpose, so that each pair counts both directions, blank the "
            "diagonal and find the largest cell:\n\n"
            "```python\n"
            "from sklearn.metrics import confusion_matrix\n\n"
            "cm = confusion_matrix(data.y_test, predictions)\n"
            "both = cm + cm.T\n"
            "np.fill_diagonal(both, 0)\n"
            "answer = np.unravel_index(both.argmax(), both.shape)\n"
            "```\n\n"
            "It depends on the run; 4 and 9, 3 and 5, 7 and 9 are common."
        ),
        usage="check(answer, data.y_test, predictions)",
    ),
    Exercise(
        N_("The digit misread most"),
        N_("Which true digit has the most test images misclassified (a count, not a share)?"),
        _check_most_missed_class,
        hint=N_(
            "Rows are true digits. A row's total minus its diagonal cell is the number of that digit's "
            "images the model got wrong."
        ),
        solution=N_(
            "Count each row's mistakes (its total minus its diagonal cell) and take the largest:\n\n"
            "```python\n"
            "from sklearn.metrics import confusion_matrix\n\n"
            "cm = confusion_matrix(data.y_test, predictions)\n"
            "missed = cm.sum(axis=1) - np.diag(cm)\n"
            "answer = int(np.argmax(missed))\n"
            "```\n\n"
            "It depends on the run."
        ),
        usage="check(answer, data.y_test, predictions)",
    ),
)
