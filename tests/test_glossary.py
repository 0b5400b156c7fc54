"""notebooks/glossary.md: every term in English and Chinese with the notebook that teaches it, and every
glossary link lands on its term.

Each term heading carries an explicit anchor, ``### <a id="feature-map"></a>Feature map · 特征图``, and links
use it (``glossary.md#feature-map``): GitHub, JupyterLab and the runner's HTML all honour an ``id``, while
each computes its own heading ids differently. The glossary sits in notebooks/ because ``make lab`` serves
only that folder.
"""

import re
import unicodedata
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "notebooks" / "glossary.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CORE = [path for path in NOTEBOOKS if re.match(r"0[0-5]_", path.name)]

# The terms the course must explain (issue 4): each is a term heading's English part, or one item of it.
REQUIRED_TERMS = [
    "tensor", "array shape", "pixel", "normalisation", "scaling", "channel", "label", "class",
    "one-hot and sparse labels", "convolution", "kernel", "filter", "stride", "padding", "feature map",
    "pooling", "max pooling", "flatten", "dense layer", "fully connected layer", "relu",
    "activation function", "logits", "softmax", "probability", "cross-entropy", "loss", "optimizer", "adam",
    "learning rate", "gradient", "backpropagation", "epoch", "batch", "batch size", "parameter", "weight",
    "bias", "training, validation and test sets", "accuracy", "overfitting", "confusion matrix",
    "seed and reproducibility", "gpu", "memory growth", "checkpoint", "data augmentation",
    "batch normalisation", "dropout", "early stopping", "tensorboard", "mixed precision",
    "data parallelism",
]  # fmt: skip

CJK = re.compile(r"[\u4e00-\u9fff]")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6}) +(.+?) *#*$", re.M)
TERM = re.compile(r'^### +<a id="([a-z0-9-]+)"></a>(.+)$', re.M)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading (github-slugger's rule); a term's own id is this of its English name.

    Lower-case; drop everything but letters, marks, digits, '_', '-' and spaces; spaces become '-'.
    """
    text = heading.strip().lower()
    kept = "".join(
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) in ("Nd", "Nl")
    )
    return kept.replace(" ", "-")


def glossary_text() -> str:
    return GLOSSARY.read_text(encoding="utf-8")


def term_anchors() -> dict[str, str]:
    """Each term heading's explicit anchor id and the heading's text."""
    return {anchor: heading for anchor, heading in TERM.findall(glossary_text())}


def term_sections() -> dict[str, str]:
    """Each ``### term`` heading (its text, without the anchor) and the text under it."""
    parts = re.split(r"^### +(?:<a id=\"[^\"]*\"></a>)?(.+)$", glossary_text(), flags=re.M)
    return {
        heading: re.split(r"^#{1,3} ", body, flags=re.M)[0]
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def glossary_links(text: str) -> list[str]:
    return [target for _, target in LINK.findall(text) if "glossary.md" in target]


def test_every_term_heading_has_an_explicit_anchor_made_from_its_english_name():
    headings = [m.group(2) for m in HEADING.finditer(glossary_text()) if len(m.group(1)) == 3]
    anchors = term_anchors()
    assert len(anchors) == len(headings), [h for h in headings if not h.startswith("<a id=")]
    assert len(set(anchors)) == len(anchors)
    for anchor, heading in anchors.items():
        assert anchor == github_anchor(heading.partition(" · ")[0]), (anchor, heading)
    assert anchors["seed-and-reproducibility"] == "Seed and reproducibility · 随机种子与可复现性"


def test_the_old_glossary_path_points_to_the_new_one():
    old = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    targets = [target for _, target in LINK.findall(old)]
    assert targets and all((ROOT / "docs" / t).resolve() == GLOSSARY for t in targets)


def test_every_term_has_both_languages_and_where_it_is_taught():
    sections = term_sections()
    assert len(sections) >= len(REQUIRED_TERMS) - 10  # some headings hold two terms ("Kernel, filter")
    for heading, body in sections.items():
        english, sep, chinese = heading.partition(" · ")
        latin_name = chinese.lower() == english.lower()  # Logits · logits: kept as in d2l-zh
        assert sep and re.search("[A-Za-z]", english) and (CJK.search(chinese) or latin_name), (
            f"{heading!r}: 'English · 中文'"
        )
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        assert any(not CJK.search(p) and len(p) > 60 for p in paragraphs), f"{heading}: no English text"
        assert any(len(CJK.findall(p)) > 15 for p in paragraphs), f"{heading}: no Chinese text"
        taught = [target for _, target in LINK.findall(body) if target.endswith(".ipynb")]
        english_links = [t for t in taught if not t.startswith("zh/")]
        assert english_links, f"{heading}: no link to the notebook that teaches it"
        assert all(re.fullmatch(r"\d\d_\w+\.ipynb", t) for t in english_links), taught
        assert [t for t in taught if t.startswith("zh/")] == [f"zh/{t}" for t in english_links], (
            f"{heading}: the Chinese notebook beside each English one"
        )


def taught_in() -> dict[str, list[str]]:
    """Each notebook the glossary says teaches something, and the terms it names it for."""
    where: dict[str, list[str]] = {}
    for heading, body in term_sections().items():
        for _, target in LINK.findall(body):
            if target.endswith(".ipynb"):
                where.setdefault(target, []).append(heading)
    return where


@pytest.mark.parametrize("target", sorted(taught_in()), ids=lambda t: Path(t).stem)
def test_the_notebooks_the_glossary_names_exist(target):
    terms = taught_in()[target]
    assert (GLOSSARY.parent / target).resolve().is_file(), f"{target} (named for {terms}) does not exist"


def test_the_required_terms_are_all_there():
    english = {heading.partition(" · ")[0].lower() for heading in term_sections()}
    items = english | {item.strip() for name in english for item in re.split(r",| and ", name)}
    missing = [term for term in REQUIRED_TERMS if term not in items]
    assert not missing, missing


def test_the_index_lists_every_term_and_its_links_work():
    index = glossary_text().split("## Index", 1)[1].split("\n## ", 1)[0]
    targets = [target for _, target in LINK.findall(index)]
    anchors = term_anchors()
    assert all(t.startswith("#") and t[1:] in anchors for t in targets), [
        t for t in targets if t[1:] not in anchors
    ]
    assert sorted(t[1:] for t in targets) == sorted(anchors)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_glossary_links_in_the_notebooks_land_on_a_term(path):
    anchors = term_anchors()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for target in glossary_links(cell.source):
            file, _, anchor = target.partition("#")
            assert file == "glossary.md", f"{path.name}: {target} is not the glossary beside the notebooks"
            assert anchor in anchors, f"{path.name}: {target} names no term of notebooks/glossary.md"


def test_the_core_notebooks_link_terms_once_each_and_many_of_them():
    linked = [
        target.partition("#")[2]
        for path in CORE
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "markdown"
        for target in glossary_links(cell.source)
    ]
    assert len(linked) >= 35, "link each term where the course first uses it"
    assert len(linked) == len(set(linked)), sorted({a for a in linked if linked.count(a) > 1})


# --- the runner's HTML -------------------------------------------------------------------------------


def test_the_glossary_page_keeps_every_term_anchor_and_links_the_notebooks_html():
    from course_tools.glossary import render_glossary_html

    page = render_glossary_html(glossary_text())
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    for anchor in term_anchors():
        assert page.count(f'id="{anchor}"') == 1, anchor
    assert 'href="#feature-map"' in page  # the index
    assert 'href="03_model_anatomy.html"' in page and ".ipynb" not in page
    assert "随机种子与可复现性" in page


def test_a_run_writes_the_glossary_page_beside_the_html_and_points_the_links_at_it(tmp_path):
    from course_tools.runner import run_course

    notebooks, output = tmp_path / "notebooks", tmp_path / "build"
    notebooks.mkdir()
    (notebooks / "glossary.md").write_text(glossary_text(), encoding="utf-8")
    link = "Each [feature map](glossary.md#feature-map) is one filter's answer."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(link), nbformat.v4.new_code_cell("1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebooks / "03_model_anatomy.ipynb")
    [result] = run_course(output, params={}, notebooks_dir=notebooks)
    assert result.status == "ok", result.error
    html = (output / "03_model_anatomy.html").read_text(encoding="utf-8")
    assert 'href="glossary.html#feature-map"' in html and "glossary.md" not in html
    assert 'id="feature-map"' in (output / "glossary.html").read_text(encoding="utf-8")
