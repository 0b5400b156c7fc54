"""The language of what course_utils tells the learner: ``set_language("zh_CN")``, then ``_(message)``.

Messages are wrapped where they are shown: ``_("Correct! {message}").format(message=...)``; texts defined at
import time are marked with ``N_`` and translated when shown. The Chinese messages live in the package,
``course_utils/locale/zh_CN/LC_MESSAGES/course_utils.po``, read with ``polib`` (no compiled ``.mo`` to drift).
Fuzzy or empty entries fall back to English, as gettext does.
"""

from __future__ import annotations

from pathlib import Path

DOMAIN = "course_utils"
SOURCE_LANGUAGE = "en"
_ALIASES = {"en": "en", "en_us": "en", "en_gb": "en", "zh": "zh_CN", "zh_cn": "zh_CN", "zh_hans": "zh_CN"}
_state: dict = {"language": SOURCE_LANGUAGE, "messages": {}}


def catalog_file(language: str) -> Path:
    """The message catalog of a language: ``locale/<language>/LC_MESSAGES/course_utils.po``."""
    return Path(__file__).resolve().parent / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_messages(path: str | Path) -> dict[str, str]:
    """``{English: translation}`` for every translated, non-fuzzy, non-obsolete entry of a ``.po`` file."""
    import polib

    return {
        entry.msgid: entry.msgstr
        for entry in polib.pofile(str(path))
        if entry.msgstr and not entry.fuzzy and not entry.obsolete
    }


def set_language(language: str = SOURCE_LANGUAGE) -> str:
    """Show course_utils' messages in ``language`` (``"zh_CN"`` or ``"en"``); returns the language set."""
    code = _ALIASES.get(str(language).strip().replace("-", "_").lower())
    if code is None:
        raise ValueError(
            f"no messages in language {language!r}; available: {', '.join(sorted(set(_ALIASES.values())))}"
        )
    messages = {} if code == SOURCE_LANGUAGE else read_messages(catalog_file(code))
    _state.update(language=code, messages=messages)
    return code


def translator(language: str):
    """A ``gettext`` for one language that leaves ``set_language``'s choice alone (the runner's report)."""
    code = _ALIASES.get(str(language).strip().replace("-", "_").lower(), SOURCE_LANGUAGE)
    path = catalog_file(code)
    messages = read_messages(path) if code != SOURCE_LANGUAGE and path.exists() else {}
    return lambda message: messages.get(message, message)


def current_language() -> str:
    """The language set by ``set_language`` (``"en"`` until then)."""
    return _state["language"]


def _(message: str) -> str:
    """``message`` in the current language; the English itself where it has no translation."""
    return _state["messages"].get(message, message)


def N_(message: str) -> str:  # noqa: N802 -- gettext's conventional name for "mark, translate later"
    """Mark a text for the catalog without translating it now (it is translated when it is shown)."""
    return message


def extract_messages(paths) -> dict[str, list[str]]:
    """``{message: ["file:line", ...]}`` for every ``_("...")`` and ``N_("...")`` in the given Python files.

    A call whose argument is not a plain string (an f-string, a variable) cannot be looked up in a catalog,
    so it raises ``ValueError`` naming the place.
    """
    import ast

    messages: dict[str, list[str]] = {}
    for path in sorted(Path(p) for p in paths):
        if path.suffix == ".j2":  # a Jinja2 template: its {{ _("...") }} calls
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
            where = f"{path.name}:{node.lineno}"
            argument = node.args[0] if node.args else None
            if isinstance(
                argument, (ast.Name, ast.Attribute)
            ):  # _(variable): a text marked with N_ elsewhere
                continue
            if not (isinstance(argument, ast.Constant) and isinstance(argument.value, str)):
                raise ValueError(f"{where}: _() and N_() take a plain string literal")
            messages.setdefault(argument.value, []).append(where)
    return messages


def wrapped_sources() -> list[Path]:
    """Where messages are wrapped (for the catalog and its test): every module of the package, so that a
    message wrapped in a new module is caught too, and the runner's report template."""
    package = Path(__file__).parent
    return sorted(package.rglob("*.py")) + sorted(package.parent.glob("course_tools/templates/*.j2"))


def update_catalog(language: str = "zh_CN") -> dict[str, int]:
    """Merge the wrapped messages into ``locale/<language>/LC_MESSAGES/course_utils.po`` (polib).

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
