"""Learner-facing messages in Chinese: set_language switches them, and the message catalog is complete."""

import string
from pathlib import Path

import polib
import pytest

import course_utils
from course_utils import i18n
from course_utils.exercises import EXERCISE_SETS

ROOT = Path(__file__).resolve().parents[1]


def _names(text):
    return sorted({field for _, field, _, _ in string.Formatter().parse(text) if field is not None})


@pytest.fixture
def chinese():
    course_utils.set_language("zh_CN")
    yield
    course_utils.set_language("en")


def _catalog():
    return polib.pofile(str(i18n.catalog_file("zh_CN")))


def test_every_wrapped_message_has_a_checked_translation_with_the_same_placeholders():
    messages = i18n.extract_messages(i18n.wrapped_sources())
    assert len(messages) > 200
    entries = {entry.msgid: entry for entry in _catalog() if not entry.obsolete}
    missing = [m for m in messages if m not in entries or not entries[m].msgstr or entries[m].fuzzy]
    assert missing == [], "run `python -m course_utils translate --update` and translate these"
    assert [m for m in messages if _names(m) != _names(entries[m].msgstr)] == []
    assert sorted(entries) == sorted(messages), "the catalog holds messages no module uses any more"


def test_every_exercise_text_is_marked_for_translation():
    messages = i18n.extract_messages(i18n.wrapped_sources())
    for exercises in EXERCISE_SETS.values():
        for exercise in exercises:
            texts = [exercise.title, exercise.task, exercise._hint, exercise._solution]
            texts += list(exercise.choices.values())
            assert [t for t in texts if t not in messages] == [], exercise.name


def test_set_language_switches_feedback_hints_and_solutions(chinese, capsys):
    nb01 = EXERCISE_SETS["nb01"]
    assert nb01.q2.check(51) is False
    out = capsys.readouterr().out
    assert out.startswith("还不对。51 是缩放之前的原始值。") and "nb01.q2.hint() 会给你提示" in out
    assert nb01.q2.check(51 / 255) is True
    assert capsys.readouterr().out.startswith("正确！51 / 255 = 0.2。")
    assert str(nb01.q1.hint()).startswith("**提示：** `train_labels == 7` 是一个 True/False 数组")
    assert str(nb01.q3.solution()).startswith("**答案：** `answer = (len(test_images), 28, 28, 1)`")
    assert "数一数 7" in repr(nb01)
    nb01.q1.check(7, __import__("numpy").array([7, 7, 1]))
    assert capsys.readouterr().out.startswith("还不对。7 太多了")  # a formatted message: the value stays
    with pytest.raises(TypeError, match="请这样调用：nb01.q1.check"):
        nb01.q1.check(3)


def test_english_is_the_default_and_comes_back(capsys):
    assert i18n.current_language() == "en"
    course_utils.set_language("zh-CN")
    assert i18n.current_language() == "zh_CN"
    course_utils.set_language("en")
    EXERCISE_SETS["nb01"].q2.check(51)
    assert capsys.readouterr().out.startswith("Not yet. 51 is the raw value")


def test_an_unknown_language_is_refused_naming_the_available_ones():
    with pytest.raises(ValueError, match=r"available: en, zh_CN"):
        course_utils.set_language("fr")
    assert i18n.current_language() == "en"


def test_fuzzy_and_empty_entries_fall_back_to_english(tmp_path):
    catalog = polib.POFile()
    catalog.append(polib.POEntry(msgid="kept", msgstr="保留"))
    catalog.append(polib.POEntry(msgid="unsure", msgstr="不确定", flags=["fuzzy"]))
    catalog.append(polib.POEntry(msgid="empty", msgstr=""))
    catalog.save(str(tmp_path / "x.po"))
    assert i18n.read_messages(tmp_path / "x.po") == {"kept": "保留"}


def test_extraction_refuses_an_f_string(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text('from course_utils.i18n import _\nvalue = 1\nprint(_(f"got {value}"))\n')
    with pytest.raises(ValueError, match="bad.py:3"):
        i18n.extract_messages([module])


def test_no_compiled_catalogs_are_committed():
    assert list((ROOT / "locale").rglob("*.mo")) == []
