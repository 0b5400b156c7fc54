"""The exercises of 05_prediction.ipynb (prediction): ``nb05.q1`` and on, with their checkers."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import (
    AnswerError,
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_labels,
    as_number,
    as_pair,
    as_whole_number,
    confusion_counts,
    describe,
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


def _softmax_rows(logits) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64)
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def _check_most_confident_mistake(answer, pre, labels) -> Verdict:
    pre = np.asarray(pre)
    if pre.ndim != 2:
        raise ContextError(
            _("pre should be what model.predict returns, one row of logits per image; got {got}").format(
                got=describe(pre)
            )
        )
    labels = as_labels(labels, "test_labels")
    if len(labels) != len(pre):
        raise ContextError(
            _("pre and test_labels differ in length ({a} and {b})").format(a=len(pre), b=len(labels))
        )
    if isinstance(answer, np.ndarray) and answer.ndim > 0:
        raise AnswerError(
            _(
                "Expected one index, a whole number; got {got}. Take the position of the largest value."
            ).format(got=describe(answer))
        )
    index = as_whole_number(answer, N_("an index into the test set, a whole number"))
    predicted = pre.argmax(axis=1)
    mistakes = np.flatnonzero(predicted != labels)
    if mistakes.size == 0:
        return right(_("The model made no mistakes at all, so there is no mistake to find."))
    confidence = _softmax_rows(pre).max(axis=1)
    top = confidence[mistakes].max()
    best = mistakes[confidence[mistakes] >= top - 1e-6]  # float32 and float64 softmax may differ a little
    if index in best:
        return right(
            _(
                "Test image {index} is a {label}, and the model read it as {predicted} with probability "
                "{probability:.2%}. Look at it with plt.imshow(test_images[{index}]): a sure model can be "
                "surely wrong."
            ).format(
                index=index,
                label=labels[index],
                predicted=predicted[index],
                probability=confidence[index],
            )
        )
    if not 0 <= index < len(labels):
        return wrong(
            _("The test set has images 0 to {last}; {index} is not one of them.").format(
                last=len(labels) - 1, index=index
            )
        )
    position = int(np.argmax(confidence[mistakes]))
    if index == position and index not in mistakes:
        return wrong(
            _(
                "That is the mistake's position in the list of mistakes; give its index in the test set "
                "(the list's value at that position)."
            )
        )
    if predicted[index] == labels[index]:
        return wrong(
            _(
                "The model reads test image {index} right (a {label}). Keep only the images where the "
                "prediction differs from the label."
            ).format(index=index, label=labels[index])
        )
    by_logit = mistakes[int(np.argmax(pre[mistakes].max(axis=1)))]
    if index == by_logit:
        return wrong(
            _(
                "That mistake has the largest logit, but a logit is not a probability: apply softmax first, "
                "then take the largest probability."
            )
        )
    if index == mistakes[int(np.argmin(confidence[mistakes]))]:
        return wrong(
            _("That is the *least* confident mistake; take the largest probability, not the smallest.")
        )
    if index == mistakes[0]:
        return wrong(_("That is the first mistake in the test set; another one is more confident."))
    return wrong(
        _(
            "Test image {index} is a mistake, read with probability {probability:.2%}; another mistake has "
            "{top:.2%}."
        ).format(index=index, probability=confidence[index], top=top)
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
            "cm = confusion_matrix(test_labels, predictions)\n"
            "both = cm + cm.T\n"
            "np.fill_diagonal(both, 0)\n"
            "answer = np.unravel_index(both.argmax(), both.shape)\n"
            "```\n\n"
            "It depends on the run; 4 and 9, 3 and 5, 7 and 9 are common."
        ),
        usage="check(answer, test_labels, predictions)",
    ),
    Exercise(
        N_("The most confident mistake"),
        N_(
            "Write code that finds the test image the model got wrong with the highest probability, and give "
            "its index in the test set."
        ),
        _check_most_confident_mistake,
        hint=N_(
            "Softmax each row of `pre` (`keras.ops.softmax(pre)`), take each row's largest probability, keep "
            "the rows where `np.argmax(pre, axis=1) != test_labels`, and find the largest among them. "
            "`np.flatnonzero(mask)` turns a True/False mask into indices."
        ),
        solution=N_(
            "The probability of each prediction, the indices of the mistakes, then the largest:\n\n"
            "```python\n"
            "probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(pre))\n"
            "confidence = probabilities.max(axis=1)\n"
            "mistakes = np.flatnonzero(np.argmax(pre, axis=1) != test_labels)\n"
            "answer = int(mistakes[np.argmax(confidence[mistakes])])\n"
            "```\n\n"
            "It depends on the run. `plt.imshow(test_images[answer])` shows it."
        ),
        usage="check(answer, pre, test_labels)",
    ),
)
