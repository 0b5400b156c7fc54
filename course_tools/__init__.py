"""The instructors' and CI's tools for the course: ``python -m course_tools run|prepare-ci|translate|...``.

Learners never need this package: the notebooks import only ``course_utils``, which never imports this one.
"""
