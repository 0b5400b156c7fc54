"""The Chinese notebooks: complete, current catalogs; notebooks/zh exactly as built; glossary terms kept."""

import json
import re
import shutil
from pathlib import Path

import nbformat
import polib
import pytest

from course_tools import translate
from course_tools.nbcheck import notebook_problems
from course_tools.runner import find_notebooks

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = translate.english_notebooks()
CHINESE_DIR = ROOT / "notebooks" / translate.TARGET_FOLDER


def test_every_english_notebook_has_a_catalog_and_a_chinese_notebook():
    assert len(ENGLISH) >= 10
    for notebook in ENGLISH:
        assert translate.catalog_path(notebook).exists(), notebook.name
        assert (CHINESE_DIR / notebook.name).exists(), notebook.name


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_every_markdown_cell_has_a_checked_translation(notebook):
    assert translate.translation_problems(notebook) == []


def test_notebooks_zh_is_exactly_what_the_translate_command_builds():
    assert translate.built_differences() == [], "run `python -m course_tools translate`"


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_code_cells_are_the_english_code_with_chinese_comments_and_the_language_line(notebook):
    english = nbformat.read(notebook, as_version=4)
    chinese = nbformat.read(CHINESE_DIR / notebook.name, as_version=4)
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    assert [c.get("id") for c in chinese.cells] == [c.get("id") for c in english.cells]
    switched = []
    for en, zh in zip(english.cells, chinese.cells, strict=True):
        if en.cell_type != "code":
            continue
        assert zh.metadata == en.metadata  # the parameters tag, nbval tags
        assert zh.outputs == en.outputs and zh.execution_count == en.execution_count
        code_en, code_zh = translate.strip_comments(en.source), translate.strip_comments(zh.source)
        if code_zh != code_en:
            assert code_zh == translate.strip_comments(translate.add_language_line(en.source))
            switched.append(en.id)
        comments = [text for _, _, text in translate.code_comments(zh.source)]
        assert len(comments) == len(translate.code_comments(en.source)), en.id
        assert all(CJK.search(text) for text in comments), (
            f"{notebook.name} {en.id}: English comments {comments}"
        )
    assert len(switched) == 1, "exactly one cell, the setup cell, switches the language"
    assert "parameters" in chinese.cells[1].metadata.tags
    setup = next(c for c in chinese.cells if c.get("id") == switched[0])
    assert 'course_utils.set_language("zh_CN")' in setup.source.splitlines()


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_markdown_is_translated_and_links_work_from_the_zh_folder(notebook):
    english = nbformat.read(notebook, as_version=4)
    chinese = nbformat.read(CHINESE_DIR / notebook.name, as_version=4)
    for en, zh in zip(english.cells, chinese.cells, strict=True):
        if en.cell_type != "markdown":
            continue
        assert zh.source != en.source and any("\u4e00" <= ch <= "\u9fff" for ch in zh.source), en.id
        for target in translate._MD_LINK.findall(zh.source):
            link = target[1].split("#")[0]
            if link and "://" not in link:
                assert (CHINESE_DIR / link).resolve().exists(), f"{notebook.name} {en.id}: broken link {link}"


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_translations_use_the_glossary_terms(notebook):
    assert translate.term_problems(translate.load_catalog(notebook)) == []


# Patterns a Chinese reader noticed as translation marks or small errors (issue 18).
AVOIDED_PATTERNS = {
    "（TensorBoard": "a Latin name needs no gloss in parentheses",
    "**Clear**": "name the button as the Chinese interface shows it, **清除**",
}
HALF_WIDTH_COMMA_IN_FULL_WIDTH_PARENTHESES = re.compile(r"（[^（）`]*(?<!\d),(?!\d)[^（）`]*）")
SPACE_BETWEEN_HANZI = re.compile(r"[\u4e00-\u9fff] +[\u4e00-\u9fff]")
TRAIN_A_TRAINING_EPOCH = re.compile(
    r"训练[一二三几多个\d\s]*\[?训练轮次"
)  # "训练一个训练轮次": write 训练一轮


def style_problems(text: str) -> list[str]:
    plain = re.sub(
        r"```.*?```|`[^`]*`|\$[^$]+\$|\{[^{}]*\}", "C", text, flags=re.DOTALL
    )  # code, placeholders
    plain = re.sub(r"\]\([^)]*\)", "]", plain)
    problems = [f"{pattern!r}: {why}" for pattern, why in AVOIDED_PATTERNS.items() if pattern in text]
    problems += [
        f"half-width comma in {m!r}" for m in HALF_WIDTH_COMMA_IN_FULL_WIDTH_PARENTHESES.findall(plain)
    ]
    problems += [f"stray space in {m!r}" for m in SPACE_BETWEEN_HANZI.findall(plain)]
    problems += [f"{m!r}: write 训练一轮" for m in TRAIN_A_TRAINING_EPOCH.findall(plain)]
    return problems


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_a_term_with_a_short_form_is_written_in_full_once_per_notebook(notebook):
    text = "\n".join(e.msgstr for e in translate.load_catalog(notebook) if not e.obsolete)
    for choice in translate.term_choices():
        if choice.short:
            assert text.count(choice.chinese) <= 1, (
                f"{choice.chinese}: write {choice.short[0]} after the first use"
            )


@pytest.mark.parametrize("notebook", ENGLISH, ids=lambda p: p.stem)
def test_no_translation_marks_or_punctuation_slips(notebook):
    problems = {
        e.msgctxt: found
        for e in translate.load_catalog(notebook)
        if not e.obsolete and (found := style_problems(e.msgstr))
    }
    assert problems == {}


def test_the_messages_and_the_glossary_use_the_chosen_terms():
    from course_utils import i18n

    messages = polib.pofile(str(i18n.catalog_file(translate.LANGUAGE)))
    problems = {
        e.msgid: found
        for e in messages
        if not e.obsolete and (found := translate.wrong_terms(e.msgstr) + style_problems(e.msgstr))
    }
    assert problems == {}
    glossary = (ROOT / "notebooks" / "glossary.md").read_text(encoding="utf-8")
    chinese = "\n".join(
        line for line in glossary.split('## <a id="chinese-terms"')[0].splitlines() if CJK.search(line)
    )
    assert translate.wrong_terms(chinese) == []
    # The website's own Chinese (its page texts and the "how to run" page) too.
    from course_tools import site

    texts = [v for v in site.TEXT["zh"].values() if isinstance(v, str)]
    pages = (ROOT / "course_tools" / "site_files" / "zh").glob("*.md")
    texts += [page.read_text(encoding="utf-8") for page in pages]
    assert translate.wrong_terms("\n".join(texts)) == []


@pytest.mark.parametrize("notebook", sorted(CHINESE_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_chinese_notebooks_follow_the_notebook_conventions(notebook):
    assert notebook_problems(notebook) == []


def test_the_runner_and_ci_pick_only_the_english_notebooks():
    picked = find_notebooks(ROOT / "notebooks")
    assert picked == ENGLISH and all(path.parent == ROOT / "notebooks" for path in picked)


# --- the machinery, on copies -------------------------------------------------------------------------------


@pytest.fixture
def copy_of_01(tmp_path):
    """A course of one notebook (01) with its catalog, in tmp_path."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "01_data.ipynb", tmp_path / "notebooks")
    shutil.copytree(ROOT / "locale" / "zh_CN", tmp_path / "locale", ignore=shutil.ignore_patterns("LC_*"))
    return tmp_path / "notebooks" / "01_data.ipynb", tmp_path / "locale"


def _edit_cell(path, cell_id, text):
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.get("id") == cell_id).source = text
    nbformat.write(nb, path)


def test_a_changed_english_cell_fails_naming_notebook_cell_and_command(copy_of_01):
    notebook, locale = copy_of_01
    assert translate.translation_problems(notebook, locale) == []
    _edit_cell(notebook, "c10", "## Labels\n\nEach label is a digit from 0 to 9.")
    problems = translate.translation_problems(notebook, locale)
    assert len(problems) == 1
    assert "01_data.ipynb" in problems[0] and "(id c10)" in problems[0]
    assert "python -m course_tools translate --update" in problems[0]


def test_update_marks_a_changed_cell_fuzzy_keeps_its_chinese_and_adds_new_cells(copy_of_01):
    notebook, locale = copy_of_01
    old = translate.load_catalog(notebook, locale)
    old_c10 = next(e for e in old if e.msgctxt == "c10")
    _edit_cell(notebook, "c10", "## Labels\n\nEach label is a digit from 0 to 9.")
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.insert(2, nbformat.v4.new_markdown_cell("A new cell.", id="new-cell"))
    nb.cells = [c for c in nb.cells if c.get("id") != "c18"]
    nbformat.write(nb, notebook)

    counts = translate.update_catalog(notebook, locale)
    assert (counts["new"], counts["changed"], counts["obsolete"]) == (1, 1, 1)
    catalog = polib.pofile(str(translate.catalog_path(notebook, locale)))  # read back from the file
    c10 = next(e for e in catalog if e.msgctxt == "c10" and not e.obsolete)
    assert c10.fuzzy and c10.previous_msgid == old_c10.msgid and c10.msgstr == old_c10.msgstr
    new = next(e for e in catalog if e.msgctxt == "new-cell")
    assert new.msgid == "A new cell." and new.msgstr == "" and not new.fuzzy
    assert [e.msgctxt for e in catalog.obsolete_entries()] == ["c18"]
    problems = translate.translation_problems(notebook, locale)
    assert any("(id c10) is fuzzy" in p for p in problems) and any("(id new-cell)" in p for p in problems)

    # The build keeps the English of fuzzy and untranslated cells (gettext's rule) and translates the rest.
    path = translate.translate_notebook(notebook, notebook.parent / "zh", locale)
    built = nbformat.read(path, as_version=4)
    by_id = {c.get("id"): c.source for c in built.cells}
    assert by_id["c10"].startswith("## Labels") and by_id["new-cell"] == "A new cell."
    c12 = next(e.msgstr for e in catalog if e.msgctxt == "c12")
    assert by_id["c12"] == translate.rewrite_links(c12, notebook.parent, notebook.parent / "zh", ())
    assert by_id["c12"] != c12, "the glossary links of c12 point one folder up from zh/"

    # A second update changes nothing; a translator's fix (flag removed) is then used by the build.
    texts = len(translate.translatable_texts(notebook))
    assert translate.update_catalog(notebook, locale) == {
        "new": 0,
        "changed": 0,
        "obsolete": 0,
        "cells": texts,
    }
    catalog = translate.load_catalog(notebook, locale)
    entry = next(e for e in catalog if e.msgctxt == "c10" and not e.obsolete)
    entry.msgstr, entry.flags, entry.previous_msgid = "## 标签\n\n每个标签是 0 到 9 的一个数字。", [], None
    catalog.save(str(translate.catalog_path(notebook, locale)))
    path = translate.translate_notebook(notebook, notebook.parent / "zh", locale)
    built = nbformat.read(path, as_version=4)
    assert next(c for c in built.cells if c.get("id") == "c10").source.startswith("## 标签")


def test_a_new_comment_leaves_the_translations_of_the_comments_after_it(copy_of_01):
    notebook, locale = copy_of_01
    nb = nbformat.read(notebook, as_version=4)
    cell = nb.cells[1]  # the parameters cell: a comment line, then settings with comments
    first, *rest = cell.source.split("\n")
    cell.source = "\n".join([first, "# a new first comment", *rest])
    nbformat.write(nb, notebook)
    before = {e.msgid: e.msgstr for e in translate.load_catalog(notebook, locale) if " #" in e.msgctxt}
    translate.update_catalog(notebook, locale)
    after = [
        e
        for e in translate.load_catalog(notebook, locale)
        if not e.obsolete and e.msgctxt.startswith("c01 #")
    ]
    assert [e.msgid for e in after][1] == "a new first comment" and after[1].msgstr == ""
    assert all(e.msgstr == before[e.msgid] and not e.fuzzy for e in after if e.msgid in before)
    problems = translate.translation_problems(notebook, locale)
    assert len(problems) == 1 and "comment 1 of code cell 1" in problems[0]


def test_identical_english_cells_and_comments_get_separate_entries():
    catalog = translate.load_catalog(ROOT / "notebooks" / "01_data.ipynb")
    ids = [e.msgctxt for e in catalog if not e.obsolete]
    assert (
        len(ids) == len(set(ids)) == len(translate.translatable_texts(ROOT / "notebooks" / "01_data.ipynb"))
    )


def test_the_build_replaces_the_text_of_comments_and_nothing_else():
    source = 'x = "# not a comment"  # the answer\n# a whole line\ny = 2  # noqa: E501\nz = 3  # 320'
    assert [text for _, _, text in translate.code_comments(source)] == ["the answer", "a whole line"]
    entries = {("c1 #0", "the answer"): "答案", ("c1 #1", "a whole line"): "整行 注释"}
    out = translate.translate_comments(source, "c1", entries)
    assert out == 'x = "# not a comment"  # 答案\n# 整行 注释\ny = 2  # noqa: E501\nz = 3  # 320'
    assert (
        translate.strip_comments(out)
        == translate.strip_comments(source)
        == 'x = "# not a comment"\n\ny = 2\nz = 3'
    )
    assert (
        translate.translate_comments("%matplotlib inline  # magic", "c1", entries)
        == "%matplotlib inline  # magic"
    )


def test_links_are_rewritten_for_the_zh_folder(tmp_path):
    source, target = tmp_path / "notebooks", tmp_path / "notebooks" / "zh"
    (tmp_path / "docs").mkdir()
    markdown = (
        "[term](../docs/glossary.md#batch-size--批大小) [next](04_compile_fit.ipynb) "
        "[other](data/x.csv) [web](https://example.org/a.md) [here](#top) ![img](../docs/a.png) "
        '<a href="../docs/glossary.md#x">x</a>'
    )
    out = translate.rewrite_links(markdown, source, target, {"04_compile_fit.ipynb"})
    assert "(../../docs/glossary.md#batch-size--批大小)" in out
    assert "(04_compile_fit.ipynb)" in out and "(../data/x.csv)" in out
    assert "(https://example.org/a.md)" in out and "(#top)" in out and "(../../docs/a.png)" in out
    assert 'href="../../docs/glossary.md#x"' in out


def test_the_language_line_goes_right_after_the_import():
    source = "import course_utils  # noqa: F401\nfrom course_utils.params import check_params\n\nparams = 1"
    assert translate.add_language_line(source).splitlines() == [
        "import course_utils  # noqa: F401",
        "from course_utils.params import check_params",
        "",
        'course_utils.set_language("zh_CN")',
        "params = 1",
    ]
    setup = "import course_utils\n\nparams = check_params()"
    assert translate.add_language_line(
        setup
    ) == 'import course_utils\n\ncourse_utils.set_language("zh_CN")\n' + ("params = check_params()")
    only_from = "from course_utils.params import check_params\n\nparams = check_params()"  # 00's setup cell
    assert translate.add_language_line(only_from).splitlines()[:4] == [
        "import course_utils",
        "from course_utils.params import check_params",
        "",
        'course_utils.set_language("zh_CN")',
    ]
    with pytest.raises(ValueError, match="import course_utils"):
        translate.add_language_line("import numpy as np")


def test_the_term_check_finds_a_missing_term():
    english = "The [optimizer](glossary.md#optimizer) uses the batch size and a GPU."
    assert translate.missing_terms(english, "优化器使用批大小和 GPU。") == []
    missing = translate.missing_terms(english, "它使用批量的大小和 GPU。")
    assert any(m.startswith("Optimizer") for m in missing)
    assert any(m.startswith("Batch size") for m in missing)
    assert translate.missing_terms("A test set.", "一个测试集。") == []
    assert translate.missing_terms("A test set.", "一个训练集。") == ["test set → 测试集"]
    # a linked term counts even where its English words do not appear in the cell
    assert translate.missing_terms("The [size](glossary.md#batch-size).", "大小。") == ["Batch size → 批大小"]
    assert len(translate.glossary_terms()) > 50, "the glossary's term headings are read"


def test_the_term_check_accepts_latin_names_and_short_forms_after_the_first_use():
    assert (
        translate.missing_terms("Softmax turns logits into probabilities.", "softmax 把 logits 变成概率。")
        == []
    )
    assert translate.missing_terms("Adam and TensorBoard.", "Adam 和 TensorBoard。") == []
    # 训练轮次 the first time in a notebook, 轮 after it
    assert translate.missing_terms("Train for 3 epochs.", "训练 3 轮。") == ["Epoch → 训练轮次"]
    assert translate.missing_terms("Train for 3 epochs.", "训练 3 轮。", glossed={"训练轮次"}) == []
    catalog = [
        polib.POEntry(msgctxt="a", msgid="One epoch is one pass.", msgstr="一个训练轮次就是遍历一次。"),
        polib.POEntry(msgctxt="b", msgid="Train for 3 epochs.", msgstr="训练 3 轮。"),
    ]
    assert translate.term_problems(catalog) == []
    assert translate.term_problems(catalog[1:]) != []


def test_the_term_check_fails_on_a_word_the_table_says_not_to_use():
    english = "Each [filter](glossary.md#kernel-filter) of the first layer."
    assert translate.missing_terms(english, "第一层的每个卷积核。") == []
    catalog = [polib.POEntry(msgctxt="c1", msgid=english, msgstr="第一层的每个滤波器。")]
    problems = translate.term_problems(catalog)
    assert any("滤波器 → 卷积核" in p for p in problems), problems
    for wrong, right in [
        ("对数几率", "logits"),
        ("基础模型", "基线模型"),
        ("主要数字", "数值"),
        ("工作节点", "工作进程"),
    ]:
        assert translate.wrong_terms(f"这里写了{wrong}。") == [
            f"{wrong} → {right} ({next(c.english for c in translate.term_choices() if c.chinese == right)})"
        ]
    assert translate.wrong_terms("一个全连接层有 64 个单元。") != []
    assert translate.wrong_terms("运行下面的单元格。") == []
    assert translate.wrong_terms("三张样例图片。") != [] and translate.wrong_terms("三张示例图片。") == []


# --- run --lang zh -----------------------------------------------------------------------------------------


def test_the_report_headings_are_in_the_runs_language():
    from course_tools.runner import render_index

    row = {"name": "01_data.ipynb", "status": "failed", "seconds": 1.0, "html": None, "figures": []}
    row |= {"error": "ValueError: x"}
    summary = {"date": "2026-11-28T10:00:00+00:00", "status": "failed", "lesson_epochs": 10}
    summary |= {"parameters": {"epochs": 1}, "notebooks_dir": "/nb", "notebooks": [row], "language": "en"}
    english = render_index(summary)
    assert '<html lang="en">' in english and "<h1>Course run</h1>" in english
    assert "<h2>01_data.ipynb failed</h2>" in english
    chinese = render_index(summary | {"language": "zh_CN"})
    assert '<html lang="zh-CN">' in chinese and "<h1>课程运行报告</h1>" in chinese
    assert "<h2>参数</h2>" in chinese and "<th>笔记本</th><th>状态</th>" in chinese
    assert "<h2>01_data.ipynb 失败</h2>" in chinese


@pytest.mark.slow
def test_the_chinese_notebooks_ci_does_not_run_under_nbval_run_through_the_runner(tmp_path):
    """CI's nbval runs the Chinese 00-05; 06-09 run here, as an instructor runs them (``run --lang zh``)."""
    from course_tools.cli import main

    output = tmp_path / "course-zh"
    command = ["run", "--lang", "zh", "--only", "06,07,08,09", "--epochs", "1", "--data-source", "offline"]
    assert main([*command, "--output", str(output)]) == 0
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert [(row["name"], row["status"]) for row in summary["notebooks"]] == [
        (path.name, "ok") for path in sorted(CHINESE_DIR.glob("0[6-9]_*.ipynb"))
    ]
    assert summary["notebooks_dir"] == str(CHINESE_DIR)
    assert "<h1>课程运行报告</h1>" in (output / "index.html").read_text(encoding="utf-8")
