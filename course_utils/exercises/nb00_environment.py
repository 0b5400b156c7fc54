"""The exercises of 00_environment.ipynb (the environment): ``nb00.q1`` and on, with their checkers."""

from __future__ import annotations

from collections.abc import Iterable

from course_utils.exercises.checking import (
    AnswerError,
    ContextError,
    Exercise,
    ExerciseSet,
    Verdict,
    as_choice,
    as_whole_number,
    describe,
    right,
    wrong,
)
from course_utils.i18n import N_, _


def _device_kind(answer) -> str:
    if hasattr(answer, "device_type"):  # a tf.config.PhysicalDevice
        return str(answer.device_type).upper()
    if not isinstance(answer, str):
        raise AnswerError(
            _("Expected the device as text, 'CPU' or 'GPU'; got {got}.").format(got=describe(answer))
        )
    kind = answer.strip().upper()
    for prefix in ("/PHYSICAL_DEVICE:", "/DEVICE:"):
        kind = kind.removeprefix(prefix)
    kind = kind.split(":")[0]
    if kind not in ("CPU", "GPU"):
        raise AnswerError(_("Expected 'CPU' or 'GPU'; got {answer}.").format(answer=repr(answer)))
    return kind


def _check_training_device(answer, gpus) -> Verdict:
    if gpus is None or isinstance(gpus, (str, bytes)) or not isinstance(gpus, Iterable):
        raise ContextError(_("pass the list gpus of the GPU cell"))
    names = [str(getattr(gpu, "name", gpu)) for gpu in gpus]
    kind = _device_kind(answer)
    if names:
        if kind == "GPU":
            return right(
                _(
                    "TensorFlow sees {count} GPU(s) ({names}) and runs the model's arithmetic on the first "
                    "one, GPU:0; the CPU prepares the batches."
                ).format(count=len(names), names=", ".join(names))
            )
        return wrong(
            _(
                "The GPU cell found {count} GPU(s) here ({names}). When a GPU is visible, TensorFlow places "
                "the model's operations on it by default; the CPU only feeds it data."
            ).format(count=len(names), names=", ".join(names))
        )
    if kind == "CPU":
        return right(
            _(
                "The GPU cell found no GPU (gpus is an empty list), so TensorFlow trains on the CPU. The "
                "course is sized for that."
            )
        )
    return wrong(
        _(
            "gpus is an empty list: TensorFlow sees no GPU on this machine (or no working "
            "driver for one), so there is only one device it can train on."
        )
    )


def _check_device_kinds(kinds) -> Verdict:
    import tensorflow as tf

    truth = [device.device_type for device in tf.config.list_physical_devices()]
    if isinstance(kinds, str):
        return wrong(_("That is one text; make a list with one kind per device, such as ['CPU']."))
    if not isinstance(kinds, (list, tuple)):
        return wrong(_("Expected a list such as ['CPU']; got {got}.").format(got=describe(kinds)))
    if kinds and all(hasattr(kind, "device_type") for kind in kinds):
        return wrong(
            _(
                "Those are the devices themselves. Keep only the kind of each one: its .device_type, "
                "in a list comprehension."
            )
        )
    said = [str(kind) for kind in kinds]
    if said == truth:
        return right(
            _("TensorFlow found {count} device(s) here: {kinds}.").format(count=len(truth), kinds=truth)
        )
    if said and all(kind.startswith("/physical_device:") for kind in said):
        return wrong(_("Those are the devices' names; keep each device's .device_type instead."))
    gpus_only = [kind for kind in truth if kind == "GPU"]
    if said == gpus_only:
        return wrong(
            _(
                'That lists the GPUs only. Call tf.config.list_physical_devices() without "GPU" to get '
                "the devices of every kind."
            )
        )
    return wrong(
        _("TensorFlow found {count} device(s) here, and your list {said} does not match them.").format(
            count=len(truth), said=said
        )
    )


SEED_CHOICES = {
    "a": N_("Every computer gives exactly the same weights and the same accuracy."),
    "b": N_(
        "Re-running the notebook on the same machine, with the same library versions, gives the same "
        "random numbers: the same starting weights, the same order of images, so the same results."
    ),
    "c": N_("Training runs faster."),
    "d": N_("The model reaches a higher accuracy."),
}


def _check_seed_guarantee(answer) -> Verdict:
    letter = as_choice(
        answer, {k: (k, f"{k}.", f"({k})") for k in SEED_CHOICES}, N_("one letter, 'a' to 'd'")
    )
    reasons = {
        "b": _(
            "A seed fixes every random choice (starting weights, shuffling), and deterministic kernels "
            "fix the order of the arithmetic, so the same setup repeats a run exactly."
        ),
        "a": _(
            "Not across machines: a CPU and a GPU, or two versions of TensorFlow, can round differently, "
            "so their numbers can drift apart. The promise holds for the same machine and the same versions."
        ),
        "c": _(
            "A seed decides which random numbers come out, not how fast anything runs (deterministic "
            "kernels can even be a little slower on a GPU)."
        ),
        "d": _(
            "A seed does not make the model better: it picks one particular random start. Another seed "
            "gives a different run, not a worse one."
        ),
    }
    return Verdict(letter == "b", reasons[letter])


def _check_log_level(answer) -> Verdict:
    note = ""
    if isinstance(answer, str) and answer.strip() in {"0", "1", "2", "3"}:
        level = int(answer.strip())
    else:
        level = as_whole_number(answer, N_("a level, a whole number from 0 to 3"))
        note = " " + _("(In os.environ it is written as the text '{level}'.)").format(level=level)
    reasons = {
        0: _("0 shows everything, the info messages included."),
        2: _("2 hides the warnings as well as the info messages: only errors get through."),
        3: _("3 is what course_utils sets: it hides everything short of a fatal error, warnings included."),
    }
    if level == 1:
        return right(_("1 hides the info messages and keeps the warnings and errors.") + note)
    return wrong(
        reasons.get(
            level,
            _("The levels run from 0 (show all) to 3 (fatal only); {level} is not one.").format(level=level),
        )
    )


nb00 = ExerciseSet(
    "nb00",
    "00_environment.ipynb",
    Exercise(
        N_("Which device trains?"),
        N_("On this machine, which device would TensorFlow train the model on: `'CPU'` or `'GPU'`?"),
        _check_training_device,
        hint=N_(
            "Look at what the GPU cell printed (the `gpus` list). TensorFlow uses a GPU whenever "
            "one is visible, and the CPU otherwise."
        ),
        solution=N_(
            "`answer = 'GPU' if gpus else 'CPU'`: the GPU if the `gpus` list above is not empty, "
            "otherwise the CPU. Every machine has a CPU; a GPU appears only with a GPU build of TensorFlow "
            "and a working driver."
        ),
        usage="check(answer, gpus)",
    ),
    Exercise(
        N_("The kinds of device"),
        N_(
            "Write code that lists every device TensorFlow found (of every kind, not only the GPUs) and "
            "keeps the kind of each one (its `device_type`, such as `'CPU'`) in a list called `kinds`."
        ),
        _check_device_kinds,
        hint=N_(
            'The blog\'s GPU cell calls `tf.config.list_physical_devices("GPU")`; without an argument it '
            "lists every device. Each device has an attribute `device_type`: collect it with a list "
            "comprehension, `[... for device in ...]`."
        ),
        solution=N_(
            "`kinds = [device.device_type for device in tf.config.list_physical_devices()]`: `['CPU']` on "
            "a machine without a GPU, `['CPU', 'GPU']` with one."
        ),
        usage="check(kinds)",
    ),
    Exercise(
        N_("What does a seed guarantee?"),
        N_("What does `keras.utils.set_random_seed(params.seed)` guarantee? Answer with one letter."),
        _check_seed_guarantee,
        hint=N_(
            "A seed fixes the *random* choices. Which of the four is about randomness, and how far does "
            "the promise reach: this machine, or every machine?"
        ),
        solution=N_(
            "`answer = 'b'`. Seeding fixes the random numbers (starting weights, the order of the "
            "images), so the same machine with the same versions repeats a run exactly. Other hardware or "
            "versions can round differently, and a seed neither speeds training up nor makes the "
            "model better."
        ),
        choices=SEED_CHOICES,
    ),
    Exercise(
        N_("A quieter log"),
        N_(
            "`TF_CPP_MIN_LOG_LEVEL` goes from 0 to 3. Which value hides TensorFlow's information messages "
            "but still shows its warnings and errors?"
        ),
        _check_log_level,
        hint=N_(
            "Each level hides one more kind of message than the one before: first info, then warnings, "
            "then errors. The notebook's text above lists them."
        ),
        solution=N_(
            "`answer = 1`: 0 shows everything, 1 hides info, 2 also hides warnings, 3 also hides "
            "errors (the course uses 3). As an environment variable it is text: "
            "`os.environ['TF_CPP_MIN_LOG_LEVEL'] = '1'`, set before TensorFlow is imported."
        ),
    ),
)
