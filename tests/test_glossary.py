"""docs/glossary.md: every term in English and Chinese with the notebook that teaches it, and every glossary
link in the notebooks lands on a heading that exists (anchors computed as GitHub and JupyterLab do)."""

import re
import unicodedata
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "docs" / "glossary.md"
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


def github_anchor(heading: str) -> str:
    """The id GitHub (and JupyterLab 4, through marked-gfm-heading-id) gives a heading: github-slugger's rule.

    Lower-case; drop everything but letters, marks, digits, '_', '-' and spaces; spaces become '-'.
    """
    text = heading.strip().lower()
    kept = "".join(
        ch
        for ch in text
        if ch in " -_" or unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) in ("Nd", "Nl")
    )
    return kept.replace(" ", "-")


def glossary_headings() -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in HEADING.finditer(GLOSSARY.read_text(encoding="utf-8"))]


def term_sections() -> dict[str, str]:
    """Each ``### term`` heading and the text under it."""
    parts = re.split(r"^### +(.+)$", GLOSSARY.read_text(encoding="utf-8"), flags=re.M)
    return {
        heading: re.split(r"^#{1,3} ", body, flags=re.M)[0]
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def glossary_links(text: str) -> list[str]:
    return [target for _, target in LINK.findall(text) if "glossary.md" in target]


def test_the_anchor_rule_matches_githubs():
    assert github_anchor("Convolution · 卷积") == "convolution--卷积"
    assert github_anchor("What's next") == "whats-next"
    assert github_anchor("Training, validation and test sets · 训练集、验证集与测试集") == (
        "training-validation-and-test-sets--训练集验证集与测试集"
    )
    assert github_anchor("Cross-entropy · 交叉熵") == "cross-entropy--交叉熵"
    assert github_anchor("Step 1: `fit` (the_end)") == "step-1-fit-the_end"


def test_heading_anchors_are_unique():
    anchors = [github_anchor(text) for _, text in glossary_headings()]
    assert len(anchors) == len(set(anchors)), sorted(a for a in anchors if anchors.count(a) > 1)


def test_every_term_has_both_languages_and_where_it_is_taught():
    sections = term_sections()
    assert len(sections) >= len(REQUIRED_TERMS) - 10  # some headings hold two terms ("Kernel, filter")
    for heading, body in sections.items():
        english, sep, chinese = heading.partition(" · ")
        assert sep and re.search("[A-Za-z]", english) and CJK.search(chinese), (
            f"{heading!r}: 'English · 中文'"
        )
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
        assert any(not CJK.search(p) and len(p) > 60 for p in paragraphs), f"{heading}: no English text"
        assert any(len(CJK.findall(p)) > 15 for p in paragraphs), f"{heading}: no Chinese text"
        taught = [target for _, target in LINK.findall(body) if target.startswith("../notebooks/")]
        assert taught, f"{heading}: no link to the notebook that teaches it"
        assert all(re.fullmatch(r"\.\./notebooks/\d\d_\w+\.ipynb", t) for t in taught), taught


def taught_in() -> dict[str, list[str]]:
    """Each notebook the glossary says teaches something, and the terms it names it for."""
    where: dict[str, list[str]] = {}
    for heading, body in term_sections().items():
        for _, target in LINK.findall(body):
            if target.startswith("../notebooks/"):
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
    text = GLOSSARY.read_text(encoding="utf-8")
    index = text.split("## Index", 1)[1].split("\n## ", 1)[0]
    anchors = {github_anchor(heading) for _, heading in glossary_headings()}
    targets = [target for _, target in LINK.findall(index)]
    assert all(t.startswith("#") and t[1:] in anchors for t in targets), [
        t for t in targets if t[1:] not in anchors
    ]
    assert {t[1:] for t in targets} == {github_anchor(h) for h in term_sections()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_glossary_links_in_the_notebooks_land_on_a_heading(path):
    anchors = {github_anchor(text) for _, text in glossary_headings()}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for target in glossary_links(cell.source):
            file, _, anchor = target.partition("#")
            assert (path.parent / file).resolve() == GLOSSARY, (
                f"{path.name}: {target} is not docs/glossary.md"
            )
            assert anchor in anchors, f"{path.name}: {target} names no heading of docs/glossary.md"


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
