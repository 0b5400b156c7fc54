"""``python -m course_utils``: the instructors' command line (see ``course_utils.cli``)."""

from course_utils.cli import main

raise SystemExit(main())
