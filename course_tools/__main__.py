"""``python -m course_tools``: the instructors' command line (see ``course_tools.cli``)."""

from course_tools.cli import main

raise SystemExit(main())
