"""The course's glossary (notebooks/glossary.md) as a web page beside the runner's executed notebooks.

The notebooks link terms as ``glossary.md#feature-map``: JupyterLab and GitHub open the Markdown file at the
term's explicit anchor. A browser reading the runner's HTML cannot render Markdown, so the runner writes
``glossary.html`` (same anchors) next to the notebooks' HTML and points their links at it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

GLOSSARY_NAME = "glossary.md"
GLOSSARY_HTML = "glossary.html"
_NOTEBOOK_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb"')
# "Taught in" offers the Chinese notebook beside the English one; a run's HTML holds one language only.
_CHINESE_NOTEBOOK_LINK = re.compile(r" \(\[中文\]\(zh/\d\d_\w+\.ipynb\)\)")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "code{background:#f3f3f3;padding:0 .2em}h3{margin-top:2rem}"
)


def link_glossary_html(body: str) -> str:
    """An HTML page whose glossary links (``href="glossary.md#..."``) now point at ``glossary.html``."""
    return body.replace(f'href="{GLOSSARY_NAME}', f'href="{GLOSSARY_HTML}')


def render_glossary_html(markdown_text: str) -> str:
    """The glossary's Markdown as a standalone UTF-8 page; links to notebooks point at their HTML.

    The links to the Chinese notebooks are left out: the run's HTML holds the notebooks of one language.
    """
    import mistune  # nbconvert's own Markdown renderer, so always installed with it

    markdown_text = _CHINESE_NOTEBOOK_LINK.sub("", markdown_text)
    body = mistune.create_markdown(escape=False, plugins=["table"])(markdown_text)
    body = _NOTEBOOK_LINK.sub(r'href="\1.html"', body)
    title = next((line[2:] for line in markdown_text.splitlines() if line.startswith("# ")), "Glossary")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def write_glossary_html(notebooks_dir: str | Path, output: str | Path) -> Path | None:
    """Write ``glossary.html`` into ``output`` from the glossary beside the notebooks; None if there is none.

    The runner calls it once per run, so the executed notebooks' glossary links land on a page that exists.
    """
    source = Path(notebooks_dir) / GLOSSARY_NAME
    if not source.is_file():
        return None
    target = Path(output) / GLOSSARY_HTML
    target.write_text(render_glossary_html(source.read_text(encoding="utf-8")), encoding="utf-8")
    return target
