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
ALIASES = {"en": "en", "en_us": "en", "en_gb": "en", "zh": "zh_CN", "zh_cn": "zh_CN", "zh_hans": "zh_CN"}
_state: dict = {"messages": {}}


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
    code = ALIASES.get(str(language).strip().replace("-", "_").lower())
    if code is None:
        raise ValueError(
            f"no messages in language {language!r}; available: {', '.join(sorted(set(ALIASES.values())))}"
        )
    messages = {} if code == SOURCE_LANGUAGE else read_messages(catalog_file(code))
    _state["messages"] = messages
    return code


def _(message: str) -> str:
    """``message`` in the current language; the English itself where it has no translation."""
    return _state["messages"].get(message, message)


def N_(message: str) -> str:  # noqa: N802 -- gettext's conventional name for "mark, translate later"
    """Mark a text for the catalog without translating it now (it is translated when it is shown)."""
    return message
