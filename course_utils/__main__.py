"""``python -m course_utils``: the instructors' command line (see ``course_utils.runner``)."""

from course_utils.runner import main

raise SystemExit(main())
