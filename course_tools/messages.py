"""The learner message catalog's tools: find the messages ``course_utils`` wraps with ``_()`` and ``N_()``,
merge them into ``course_utils/locale/<language>/LC_MESSAGES/course_utils.po``, and a ``gettext`` for the
runner's report. ``course_utils.i18n`` only reads the catalog; it does not need these."""

from __future__ import annotations

import ast
from pathlib import Path

import course_utils
from course_utils.i18n import ALIASES, SOURCE_LANGUAGE, catalog_file, read_messages


def translator(language: str):
    """A ``gettext`` for one language that leaves ``set_language``'s choice alone (the runner's report)."""
    code = ALIASES.get(str(language).strip().replace("-", "_").lower(), SOURCE_LANGUAGE)
    path = catalog_file(code)
    messages = read_messages(path) if code != SOURCE_LANGUAGE and path.exists() else {}
    return lambda message: messages.get(message, message)


def extract_messages(paths) -> dict[str, list[str]]:
    """``{message: ["file:line", ...]}`` for every ``_("...")`` and ``N_("...")`` in the given Python files
    (and every ``{{ _("...") }}`` in the given Jinja2 templates, ``.j2``).

    A call whose argument is not a plain string (an f-string, a variable) cannot be looked up in a catalog,
    so it raises ``ValueError`` naming the place.
    """
    messages: dict[str, list[str]] = {}
    for path in sorted(Path(p) for p in paths):
        if path.suffix == ".j2":
            import jinja2

            environment = jinja2.Environment(extensions=["jinja2.ext.i18n"])
            for line, _function, message in environment.extract_translations(
                path.read_text(encoding="utf-8")
            ):
                if not isinstance(message, str):
                    raise ValueError(f"{path.name}:{line}: _() takes a plain string literal")
                messages.setdefault(message, []).append(f"{path.name}:{line}")
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("_", "N_")):
                continue
            argument = node.args[0] if node.args else None
            if isinstance(argument, (ast.Name, ast.Attribute)):  # _(variable): marked with N_ elsewhere
                continue
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise ValueError(f"{path.name}:{node.lineno}: _() and N_() take a plain string literal")
            messages.setdefault(argument.value, []).append(f"{path.name}:{node.lineno}")
    return messages


def wrapped_sources() -> list[Path]:
    """Where messages are wrapped (for the catalog and its test): every module of ``course_utils``, so that a
    message wrapped in a new module is caught too, and the runner's report template."""
    package = Path(course_utils.__file__).resolve().parent
    templates = Path(__file__).resolve().parent / "templates"
    return sorted(package.rglob("*.py")) + sorted(templates.glob("*.j2"))


def update_catalog(language: str = "zh_CN") -> dict[str, int]:
    """Merge the wrapped messages into ``course_utils/locale/<language>/LC_MESSAGES/course_utils.po``.

    New messages get empty entries; an entry whose message is gone becomes obsolete (its translation is kept
    there for reuse, until tests/test_i18n.py asks for it to be deleted). Returns the counts of new and
    obsolete entries.
    """
    import polib

    path = catalog_file(language)
    catalog = polib.pofile(str(path), wrapwidth=0)
    messages = extract_messages(wrapped_sources())
    counts = {"new": 0, "obsolete": 0}
    known = {entry.msgid: entry for entry in catalog}
    for message, places in messages.items():
        entry = known.get(message)
        if entry is None:
            entry = polib.POEntry(msgid=message, msgstr="")
            catalog.append(entry)
            counts["new"] += 1
        entry.obsolete = False
        entry.occurrences = [tuple(place.split(":")) for place in places]
        if "{" in message and "python-brace-format" not in entry.flags:
            entry.flags.append("python-brace-format")
    for entry in catalog:
        if entry.msgid not in messages and not entry.obsolete:
            entry.obsolete = True
            counts["obsolete"] += 1
    catalog.save(str(path))
    return counts
