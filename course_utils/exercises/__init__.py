"""Exercises with checkers for the notebooks 00-09, in the manner of Kaggle Learn.

Each notebook ends with a few exercises, one group per notebook. Some ask for a value::

    from course_utils.exercises import ____, nb03

    answer = ____  # your answer here
    nb03.q1.check(answer)

others for code, whose result the check inspects (a list, an array, a figure, a model)::

    padded_model = models.Sequential([...])  # the learner's change
    nb03.q4.check(predicted_parameters, padded_model)

``check`` prints a verdict, with the reason when an answer is wrong, and returns True or False (None while the
answer is still the blank ``____``). ``hint()`` and ``solution()`` return text that Jupyter shows as Markdown.
Where the right answer depends on the run (the most confused digits, the best epoch), ``check`` takes what it
needs from the notebook and works the truth out there: nothing a run produces is stored here.

The machinery is in ``checking``; each notebook's questions are in a module of their own
(``nb03_model_anatomy`` holds ``nb03``).
"""

from course_utils.exercises.checking import ContextError, Exercise, ExerciseSet, ExerciseText, ____
from course_utils.exercises.nb00_environment import nb00
from course_utils.exercises.nb01_data import nb01
from course_utils.exercises.nb02_visualization import nb02
from course_utils.exercises.nb03_model_anatomy import nb03
from course_utils.exercises.nb04_compile_fit import nb04
from course_utils.exercises.nb05_prediction import nb05
from course_utils.exercises.nb06_your_digit import nb06
from course_utils.exercises.nb07_better_model import nb07
from course_utils.exercises.nb08_fashion_mnist import nb08
from course_utils.exercises.nb09_scaling_out import nb09

__all__ = [
    "____",
    "ContextError",
    "Exercise",
    "ExerciseSet",
    "ExerciseText",
    "nb00",
    "nb01",
    "nb02",
    "nb03",
    "nb04",
    "nb05",
    "nb06",
    "nb07",
    "nb08",
    "nb09",
]

EXERCISE_SETS = {s.name: s for s in (nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09)}
