"""The Chinese course, built from the English notebooks and a gettext catalog per notebook.

``locale/zh_CN/<notebook stem>.po`` holds one entry per English markdown cell: ``msgctxt`` is the cell's id
(so identical cells do not collide and a message can name the cell), ``msgid`` the English text, ``msgstr``
its Chinese. It also holds one entry per comment of a code cell (``msgctxt`` "<cell id> #<n>", ``msgid`` the
comment's text without its ``#``): the build replaces the text of the comments only, so the code stays the
English code token for token (``strip_comments`` of both is the same).

Links in a ``msgstr`` are written as in the English notebook (``../docs/glossary.md#...``); the
build rewrites them for ``notebooks/zh/``. Poedit, Weblate or Crowdin edit these files directly.

``update_catalogs`` (``python -m course_tools translate --update``) extracts new or changed English cells in
the standard gettext way: a new cell gets an empty entry; a cell whose English changed keeps its old Chinese,
marked ``fuzzy`` with the old English as ``previous msgid``, until a translator checks it and removes the
flag; entries of deleted cells become obsolete (``#~``). ``build_notebooks`` (``translate``) then writes
``notebooks/zh/NN_*.ipynb``: every cell in the English order, markdown and comments translated (a missing or
fuzzy entry keeps the English, as gettext does), code tokens copied as they are, with one addition:

The language switch. The Chinese notebooks must call ``course_utils.set_language("zh_CN")`` so that the
exercises' messages come in Chinese, while the English code cells stay the single source. The build inserts
exactly one line, ``LANGUAGE_LINE``, as the first statement after the imports of the setup cell (the first
code cell with ``import course_utils``; see ``add_language_line``). This keeps the English notebooks free of
translation plumbing and the contract of ``parameters`` unchanged; ``tests/test_translate.py`` checks that
this line and the comments are the only differences.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import tokenize
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

LANGUAGE = "zh_CN"
TARGET_FOLDER = "zh"  # notebooks/zh
LANGUAGE_LINE = f'course_utils.set_language("{LANGUAGE}")'
_SETUP_IMPORT = re.compile(r"^import course_utils\b.*$", re.MULTILINE)
# A setup cell may import only from the package (00: `from course_utils.params import check_params`).
_PACKAGE_IMPORT = re.compile(r"^(?:import course_utils\b|from course_utils[\w.]* import\b).*$", re.MULTILINE)
UPDATE_COMMAND = "python -m course_tools translate --update"
# Markdown links and images ](target), and HTML href="..." / src="...".
_MD_LINK = re.compile(r"(\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_HTML_LINK = re.compile(r"""((?:href|src)=")([^"]+)(")""")


def course_root() -> Path:
    """The course's folder (``notebooks/``, ``locale/``): the working folder; run the tools from there."""
    return Path.cwd()


def english_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """The English notebooks (``notebooks/*.ipynb``), sorted; the translated folder is not among them."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else course_root() / "notebooks"
    return sorted(folder.glob("*.ipynb"))


def catalog_path(notebook: str | Path, locale_dir: str | Path | None = None) -> Path:
    """The ``.po`` file of one English notebook: ``locale/zh_CN/<stem>.po``."""
    folder = Path(locale_dir) if locale_dir is not None else course_root() / "locale" / LANGUAGE
    return folder / f"{Path(notebook).stem}.po"


# Comments that are instructions to a tool, not prose for the reader: never translated.
_TOOL_COMMENT = re.compile(r"^#\s*(?:noqa|type:|fmt:|pragma|NBVAL_|%%)|^#!")


def code_comments(source: str) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    """``(start, end, text)`` of each comment of a code cell a reader reads as prose (``text`` without ``#``).

    Positions are tokenize's (row from 1, column). Comments without a letter (``# 320``) and tool comments
    (``# noqa``) are left out; so is every comment of a cell tokenize cannot read (IPython magics).
    """
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [
        (token.start, token.end, token.string[1:].strip())
        for token in tokens
        if token.type == tokenize.COMMENT
        and not _TOOL_COMMENT.match(token.string)
        and re.search(r"[^\W\d_]", token.string)
    ]


def strip_comments(source: str) -> str:
    """A cell's code without its comments (and the spaces before them): what must match across languages."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    lines = source.split("\n")
    for token in reversed([t for t in tokens if t.type == tokenize.COMMENT]):
        row, col = token.start
        lines[row - 1] = lines[row - 1][:col].rstrip()
    return "\n".join(lines)


def comment_context(cell_id: str, index: int) -> str:
    """The ``msgctxt`` of the ``index``-th translatable comment of a code cell."""
    return f"{cell_id} #{index}"


def translatable_texts(notebook: str | Path) -> list[tuple[str, str, str]]:
    """``(msgctxt, English text, what it is)`` for every markdown cell and every prose comment, in order."""
    import nbformat  # imported here: slow to import, and the command line starts without it

    nb = nbformat.read(notebook, as_version=4)
    texts = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            texts.append((cell.id, cell.source, f"markdown cell {index}"))
        elif cell.cell_type == "code":
            for number, (_, _, text) in enumerate(code_comments(cell.source)):
                what = f"comment {number} of code cell {index}"
                texts.append((comment_context(cell.id, number), text, what))
    return texts


def translate_comments(source: str, cell_id: str, entries: dict[tuple[str, str], str]) -> str:
    """A code cell's source with each prose comment's text replaced by its translation (code untouched)."""
    lines = source.split("\n")
    for number, (start, end, text) in reversed(list(enumerate(code_comments(source)))):
        chinese = entries.get((comment_context(cell_id, number), text))
        if not chinese:
            continue
        row, col = start
        line = lines[row - 1]
        marker = re.match(r"#\s*", line[col : end[1]]).group()
        lines[row - 1] = line[:col] + marker + " ".join(chinese.split()) + line[end[1] :]
    return "\n".join(lines)


def _new_catalog(notebook: Path):
    import polib

    catalog = polib.POFile(wrapwidth=0)
    catalog.metadata = {
        "Project-Id-Version": f"mnist-cnn-course {notebook.name}",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    return catalog


def load_catalog(notebook: str | Path, locale_dir: str | Path | None = None):
    """The notebook's catalog as a ``polib.POFile`` (empty, with headers, where there is none yet)."""
    import polib

    path = catalog_path(notebook, locale_dir)
    if path.exists():
        return polib.pofile(str(path), wrapwidth=0)
    return _new_catalog(Path(notebook))


def update_catalog(notebook: str | Path, locale_dir: str | Path | None = None) -> dict[str, int]:
    """Merge one English notebook's markdown cells and comments into its catalog; counts of what changed.

    Matching is by cell id (``msgctxt``): same id and text keeps the entry; a text already translated
    elsewhere in the catalog reuses that translation (a comment whose number in its cell changed); same id,
    other text keeps the old translation, marks it ``fuzzy`` and records ``previous_msgid``; otherwise a new
    empty entry. Entries of cells no longer in
    the notebook become obsolete.
    """
    import polib

    notebook = Path(notebook)
    catalog = load_catalog(notebook, locale_dir)
    live = [entry for entry in catalog if not entry.obsolete]
    obsolete_before = [entry for entry in catalog if entry.obsolete]
    by_id = {entry.msgctxt: entry for entry in live}
    by_text = {entry.msgid: entry for entry in live if entry.msgstr and not entry.fuzzy}
    counts = {"new": 0, "changed": 0, "obsolete": 0, "cells": 0}
    entries = []
    texts = translatable_texts(notebook)
    current = {source for _, source, _ in texts}
    for cell_id, source, what in texts:
        counts["cells"] += 1
        old = by_id.pop(cell_id, None)
        if old is not None and old.msgid != source and old.msgid in current:
            old = None  # its text moved to another entry (a comment inserted above it): not an edit of it
        known = by_text.get(source)
        if old is not None and old.msgid == source:
            entry = old
        elif known is not None:  # the same text is translated elsewhere (a comment that moved up or down)
            counts["changed" if old is not None else "new"] += 1
            entry = polib.POEntry(msgctxt=cell_id, msgid=source, msgstr=known.msgstr)
        elif old is not None:
            counts["changed"] += 1
            entry = polib.POEntry(msgctxt=cell_id, msgid=source, msgstr=old.msgstr)
            entry.previous_msgid = old.previous_msgid if old.fuzzy and old.previous_msgid else old.msgid
            if old.msgstr:
                entry.flags.append("fuzzy")
        else:
            counts["new"] += 1
            entry = polib.POEntry(msgctxt=cell_id, msgid=source, msgstr="")
        entry.comment = f"{what} of {notebook.name}"
        entry.occurrences = [(f"notebooks/{notebook.name}", "")]
        entries.append(entry)
    for gone in by_id.values():
        counts["obsolete"] += 1
        gone.obsolete = True
        entries.append(gone)
    entries += obsolete_before
    fresh = _new_catalog(notebook)
    fresh.metadata = catalog.metadata or fresh.metadata
    fresh.extend(entries)
    path = catalog_path(notebook, locale_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh.save(str(path))
    return counts


def translation_problems(notebook: str | Path, locale_dir: str | Path | None = None) -> list[str]:
    """Each English markdown cell or comment without a usable translation, named with the fixing command."""
    notebook = Path(notebook)
    path = catalog_path(notebook, locale_dir)
    if not path.exists():
        return [f"{notebook.name}: no catalog {path.name}; run `{UPDATE_COMMAND}` and translate it"]
    catalog = load_catalog(notebook, locale_dir)
    entries = {entry.msgctxt: entry for entry in catalog if not entry.obsolete}
    problems = []
    for cell_id, source, what in translatable_texts(notebook):
        where = f"{notebook.name} {what} (id {cell_id})"
        entry = entries.get(cell_id)
        if entry is None:
            problems.append(f"{where} is not in {path.name}: run `{UPDATE_COMMAND}`, then translate it")
        elif entry.msgid != source:
            problems.append(f"{where} changed in English: run `{UPDATE_COMMAND}`, review the fuzzy entry")
        elif entry.fuzzy:
            problems.append(f"{where} is fuzzy in {path.name}: check the translation, remove the fuzzy flag")
        elif not entry.msgstr.strip():
            problems.append(f"{where} has no translation in {path.name}")
        elif " #" in cell_id and "\n" in entry.msgstr.strip():
            problems.append(f"{where}: a comment's translation in {path.name} must be one line")
    return problems


def _rewrite_target(target: str, source_dir: Path, target_dir: Path, translated: set[str]) -> str:
    """A link target of the English notebook, made right for the translated notebook's folder."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return target  # a URL, an anchor in the same page, or an absolute path
    path, hash_, fragment = target.partition("#")
    if not path:
        return target
    resolved = (source_dir / path).resolve()
    if resolved.parent == source_dir.resolve() and resolved.name in translated:
        new = resolved.name  # another notebook: its translation sits beside this one
    else:
        new = Path(os.path.relpath(resolved, target_dir.resolve())).as_posix()
    return new + hash_ + fragment


def rewrite_links(markdown: str, source_dir: Path, target_dir: Path, translated: Iterable[str]) -> str:
    """Every relative link and image of ``markdown`` rewritten from ``source_dir`` to ``target_dir``."""
    names = set(translated)

    def fix(match: re.Match) -> str:
        target = _rewrite_target(match.group(2), source_dir, target_dir, names)
        return match.group(1) + target + match.group(3)

    return _HTML_LINK.sub(fix, _MD_LINK.sub(fix, markdown))


def add_language_line(source: str) -> str:
    """The setup cell's source with ``LANGUAGE_LINE`` as the first statement after its imports.

    It goes after the import block that starts with ``import course_utils`` (and its blank line), so the
    cell stays in ruff's import order and the language is set before ``check_params`` runs. A setup cell
    that only has ``from course_utils... import`` lines gets ``import course_utils`` before them.
    """
    lines = source.split("\n")
    start = next((i for i, line in enumerate(lines) if _SETUP_IMPORT.match(line)), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if _PACKAGE_IMPORT.match(line)), None)
        if start is None:
            raise ValueError("no `import course_utils` line to add the language switch after")
        lines.insert(start, "import course_utils")
    end = start + 1
    while end < len(lines) and lines[end].startswith(("import ", "from ")):
        end += 1
    if end < len(lines) and not lines[end].strip():
        lines.insert(end + 1, LANGUAGE_LINE)
    else:
        lines[end:end] = ["", LANGUAGE_LINE]
    return "\n".join(lines)


def translate_notebook(notebook: str | Path, target_dir: str | Path, locale_dir=None, translated=()) -> Path:
    """Write the Chinese version of one English notebook into ``target_dir``; returns its path."""
    import nbformat  # imported here: slow to import, and the command line starts without it

    notebook, target_dir = Path(notebook), Path(target_dir)
    nb = nbformat.read(notebook, as_version=4)
    catalog = load_catalog(notebook, locale_dir)
    entries = {
        (entry.msgctxt, entry.msgid): entry.msgstr
        for entry in catalog
        if not entry.obsolete and not entry.fuzzy and entry.msgstr.strip()
    }
    link_dir = notebook.parent / TARGET_FOLDER
    switched = False
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = entries.get((cell.id, cell.source), cell.source)  # gettext's rule: English if untranslated
            # Links are made for notebooks/zh even when writing elsewhere (a check's temporary folder).
            cell.source = rewrite_links(text, notebook.parent, link_dir, translated or {notebook.name})
        elif cell.cell_type == "code":
            cell.source = translate_comments(cell.source, cell.id, entries)
            if not switched and _PACKAGE_IMPORT.search(cell.source):
                cell.source = add_language_line(cell.source)
                switched = True
    if not switched:
        raise ValueError(f"{notebook.name}: no code cell imports course_utils; cannot add {LANGUAGE_LINE}")
    nb.metadata["course_translation"] = {"language": LANGUAGE, "source": f"../{notebook.name}"}
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / notebook.name
    nbformat.write(nb, target)
    return target


def build_notebooks(
    target_dir: str | Path | None = None, notebooks_dir: str | Path | None = None, locale_dir=None
) -> list[Path]:
    """Write ``notebooks/zh/`` (or ``target_dir``) from the English notebooks and their catalogs."""
    notebooks = english_notebooks(notebooks_dir)
    if not notebooks:
        raise ValueError("no English notebooks to translate")
    target = Path(target_dir) if target_dir is not None else notebooks[0].parent / TARGET_FOLDER
    names = {nb.name for nb in notebooks}
    written = [translate_notebook(nb, target, locale_dir, names) for nb in notebooks]
    for stale in set(target.glob("*.ipynb")) - set(written):  # an English notebook was removed or renamed
        stale.unlink()
    return written


def built_differences(notebooks_dir=None, locale_dir=None) -> list[str]:
    """The files of ``notebooks/zh/`` that differ from a fresh build (empty when it is up to date)."""
    notebooks = english_notebooks(notebooks_dir)
    committed = notebooks[0].parent / TARGET_FOLDER
    with tempfile.TemporaryDirectory() as tmp:
        fresh = build_notebooks(tmp, notebooks_dir, locale_dir)
        names = {path.name for path in fresh} | {path.name for path in committed.glob("*.ipynb")}
        return sorted(
            name
            for name in names
            if not (committed / name).exists()
            or not (Path(tmp) / name).exists()
            or (committed / name).read_bytes() != (Path(tmp) / name).read_bytes()
        )


def main(update: bool = False) -> int:
    """``python -m course_tools translate [--update]``: optionally merge the catalogs, then build."""
    if update:
        from course_tools import messages
        from course_utils.i18n import catalog_file

        counts = messages.update_catalog(LANGUAGE)
        print(f"{catalog_file(LANGUAGE)}: {counts['new']} new messages, {counts['obsolete']} obsolete")
        for notebook in english_notebooks():
            counts = update_catalog(notebook)
            print(
                f"{catalog_path(notebook).relative_to(course_root())}: {counts['cells']} cells and comments, "
                f"{counts['new']} new, {counts['changed']} changed (fuzzy), {counts['obsolete']} obsolete"
            )
    untranslated = [p for nb in english_notebooks() for p in translation_problems(nb)]
    for path in build_notebooks():
        print(f"wrote {path.relative_to(course_root())}")
    if untranslated:
        print(f"{len(untranslated)} cells or comments keep their English until translated:")
        print("\n".join(f"  {problem}" for problem in untranslated))
    return 0


# --- the glossary's terms -----------------------------------------------------------------------------------

_GLOSSARY_HEADING = re.compile(r'^### (?:<a id="([^"]+)"></a>)?(.+?) · (.+?)\s*$', re.MULTILINE)
_GLOSSARY_LINK = re.compile(r"\]\(([^)\s]*glossary[^)\s]*)#([^)\s]+)\)")
# Glossary words that also have an everyday or another technical meaning ("loss" as a value, a Jupyter
# "kernel", a random "seed"): they count as a term use only where the cell links them to the glossary.
LINK_ONLY_TERMS = frozenset({"kernel", "filter", "loss", "seed", "bias", "weight", "parameter", "batch"})


def glossary_terms(glossary: str | Path | None = None) -> list[tuple[str, tuple[str, ...], str]]:
    """``(English form, Chinese forms, heading)`` for every term of the glossary (``notebooks/glossary.md``).

    A heading such as ``Kernel, filter · 卷积核、滤波器`` gives one pair per position where both sides list
    the same number of forms (``Training, validation and test sets`` shares its last word: ``test set``);
    otherwise each English form accepts any of the Chinese ones.
    """
    terms = []
    for _anchor, english, chinese in _GLOSSARY_HEADING.findall(_glossary_text(glossary)):
        en = [part.strip() for part in re.split(r",| and ", english) if part.strip()]
        zh = [part.strip() for part in re.split(r"[、与]", chinese) if part.strip()]
        *first, last = en
        if first and all(" " not in part for part in first) and " " in last:
            noun = last.split()[-1].removesuffix("s")
            en = [f"{part} {noun}" for part in first] + [last.removesuffix("s")]
        paired = len(en) == len(zh) > 1
        for index, form in enumerate(en):
            terms.append((form, (zh[index],) if paired else tuple(zh), chinese))
    return terms


def _glossary_text(glossary: str | Path | None = None) -> str:
    path = Path(glossary) if glossary is not None else course_root() / "notebooks" / "glossary.md"
    return path.read_text(encoding="utf-8")


def glossary_anchors(glossary: str | Path | None = None) -> dict[str, str]:
    """Each term's anchor (``batch-size``, as the notebooks link it) and its Chinese heading (``批大小``)."""
    return {
        anchor: chinese
        for anchor, _, chinese in _GLOSSARY_HEADING.findall(_glossary_text(glossary))
        if anchor
    }


def _plain_text(markdown: str) -> str:
    """Markdown without code, link targets, HTML tags and LaTeX: the words a reader sees."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "] ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return re.sub(r"\$[^$]+\$", " ", text)


def _key(text: str) -> str:
    return re.sub(r"[\W_]", "", text.lower())


def _term_pattern(form: str) -> re.Pattern:
    words = [re.escape(word).replace("normalisation", "normali[sz]ation") for word in form.lower().split()]
    return re.compile(r"\b" + r"[\s-]+".join(words) + r"(?:s|es)?\b", re.IGNORECASE)


_TABLE_HEADING = re.compile(r"^## .*Chinese terms.*$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^\|(.+)\|\s*$", re.MULTILINE)
_NONE = {"", "—", "-"}


class TermChoice(NamedTuple):
    """One row of the glossary's table of Chinese terms: the term, its short forms, the words not to use."""

    english: str
    chinese: str
    short: tuple[str, ...]
    avoid: tuple[str, ...]


def term_choices(glossary: str | Path | None = None) -> list[TermChoice]:
    """The rows of the table under ``## Chinese terms`` in the glossary (the course's one term per concept).

    Columns: English | 中文 (the term) | 简称 (short forms, after the first use in a notebook) | 不用 (words
    that must not stand for it) | reason. Lists inside a cell are separated by ``、``.
    """
    text = _glossary_text(glossary)
    heading = _TABLE_HEADING.search(text)
    if heading is None:
        return []
    section = text[heading.end() :].split("\n## ", 1)[0]
    choices = []
    for row in _TABLE_ROW.findall(section):
        cells = [cell.strip() for cell in row.split("|")]
        if len(cells) < 4 or set(cells[0]) <= set("-: ") or cells[1] == "中文":
            continue

        def forms(cell: str) -> tuple[str, ...]:
            return tuple(f.strip().strip("`") for f in cell.split("、") if f.strip() not in _NONE)

        choices.append(TermChoice(cells[0], cells[1].strip("`"), forms(cells[2]), forms(cells[3])))
    return choices


def wrong_terms(chinese: str, choices: list[TermChoice] | None = None) -> list[str]:
    """The words of ``chinese`` the glossary's table says not to use, each with the term to use instead.

    The chosen terms are masked first, so a word not to use that is part of a chosen one (单元 in 单元格)
    does not count.
    """
    choices = term_choices() if choices is None else choices
    terms = {c.chinese for c in choices}
    found = set()
    for choice in choices:
        for word in choice.avoid:
            text = chinese
            for term in terms:
                if word in term and word != term:
                    text = text.replace(term, "\0")
            if word in text:
                found.add(f"{word} → {choice.chinese} ({choice.english})")
    return sorted(found)


def used_terms(english: str, terms=None) -> dict[str, tuple[str, tuple[str, ...], str]]:
    """The glossary terms an English text uses: ``{key: (English form, Chinese forms, heading)}``.

    A term is used where the text links to its glossary entry, or names it in plain text (longest forms
    first, so "batch size" is not also "batch"; ``LINK_ONLY_TERMS`` only when linked).
    """
    anchors = glossary_anchors() if terms is None else {}
    terms = glossary_terms() if terms is None else terms
    used: dict[str, tuple[str, tuple[str, ...], str]] = {}
    headings = {heading: zh for _, zh, heading in terms}
    for _target, anchor in _GLOSSARY_LINK.findall(english):
        anchor = unquote(anchor)
        if anchor in anchors:  # the glossary's own term anchors (``#batch-size``)
            matches = [anchors[anchor]] if anchors[anchor] in headings else []
        else:  # older links with heading ids that hold the Chinese (``#batch-size--批大小``)
            matches = [h for h in headings if _key(h) in _key(anchor)]
        if matches:
            heading = max(matches, key=len)
            english_form = next(form for form, _, h in terms if h == heading)
            used[heading] = (english_form, tuple(re.split(r"[、与]", heading)), heading)
    text = _plain_text(english)
    for form, zh, heading in sorted(terms, key=lambda term: -len(term[0])):
        pattern = _term_pattern(form)
        if pattern.search(text):
            text = pattern.sub(" ", text)
            if form.lower() not in LINK_ONLY_TERMS and heading not in used:
                used[f"{heading}/{form}"] = (form, zh, heading)
    return used


def missing_terms(english: str, chinese: str, terms=None, glossed: set[str] | None = None) -> list[str]:
    """Glossary terms the English text uses whose Chinese term (the glossary's) the translation lacks.

    Acronyms (GPU) and Latin names whose Chinese heading keeps them (softmax, ReLU, Adam, TensorBoard,
    logits) may stay as they are. ``glossed`` holds the headings an earlier cell of the same notebook already
    used: there a short form from the glossary's table (轮 for 训练轮次) is enough.
    """
    short = {c.chinese: c.short for c in term_choices()} if glossed else {}
    missing = []
    for form, zh, heading in used_terms(english, terms).values():
        accepted = list(zh)
        if glossed and heading in glossed:
            accepted += [s for z in zh for s in short.get(z, ())]
        latin = form.isupper() or any(form.lower() in z.lower() for z in zh)
        if any(z in chinese for z in accepted) or (latin and form.lower() in chinese.lower()):
            continue
        missing.append(f"{form} → {' / '.join(zh)}")
    return sorted(set(missing))


def term_problems(catalog, terms=None) -> list[str]:
    """The term check of one notebook's catalog, entry by entry in the notebook's order.

    Each markdown entry must use the glossary's Chinese for the terms its English uses (the full term at the
    first use in the notebook, a short form after it); no entry, comments included, may use a word the table
    says not to use. Comments are short notes on the code: they neither need nor give the full term.
    """
    glossed: set[str] = set()
    problems = []
    for entry in catalog:
        if entry.obsolete or not entry.msgstr:
            continue
        if " #" in (entry.msgctxt or ""):  # a comment of a code cell (``comment_context``)
            problems += [f"{entry.msgctxt}: {wrong}" for wrong in wrong_terms(entry.msgstr)]
            continue
        for missing in missing_terms(entry.msgid, entry.msgstr, terms, glossed):
            problems.append(f"{entry.msgctxt}: uses the English {missing.split(' → ')[0]!r}; write {missing}")
        for wrong in wrong_terms(entry.msgstr):
            problems.append(f"{entry.msgctxt}: {wrong}")
        glossed |= {heading for _, _, heading in used_terms(entry.msgid, terms).values()}
    return problems


# --- running the translated course --------------------------------------------------------------------------

RUN_LANGUAGES = {"en": "en", "zh": LANGUAGE}


def notebooks_language(notebooks) -> str:
    """The language of a run's notebooks: ``zh_CN`` for built translations (their metadata says so)."""
    import nbformat  # imported here: slow to import, and the command line starts without it

    for notebook in notebooks:
        metadata = nbformat.read(notebook, as_version=4).metadata
        return metadata.get("course_translation", {}).get("language", "en")
    return "en"
