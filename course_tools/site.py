"""The executed course as a static website in English and 中文 (``make site``).

It reads the runner's executed notebooks (``build/course`` and ``build/course-zh``) and never executes them
again: Sphinx with myst-nb (``nb_execution_mode = "off"``) shows every output they hold. Each language is one
Sphinx site, ``build/site/en`` and ``build/site/zh``, with the same page names, so the switch on every page
goes to the same page in the other language. ``build/site/index.html`` sends a browser to the English site.

Each language's pages: the home page (what the course is, and what made the outputs), how to run the course,
the notebooks 00-09 as the run left them, the glossary, and the run's headline figures (``summary.json``).
The notebooks link each other as ``NN_name.ipynb`` and their terms as ``glossary.md#term``; myst-nb turns
both into links to the pages here. The build needs no network.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = Path(__file__).with_name("site_files")
DEFAULT_RUNS = {"en": ROOT / "build" / "course", "zh": ROOT / "build" / "course-zh"}
DEFAULT_OUTPUT = ROOT / "build" / "site"
GLOSSARY = ROOT / "notebooks" / "glossary.md"
LANGUAGES = ("en", "zh")
SPHINX_LANGUAGE = {"en": "en", "zh": "zh_CN"}
LABEL = {"en": "English", "zh": "中文"}
# Where the repository and its published site live; CI passes the real ones (.github/workflows/site.yml).
REPO_URL = os.environ.get("COURSE_REPO_URL", "https://github.com/OWNER/REPO")

# Output types a web page can show; anything else (the runner's headline records) is left out.
SHOWN_MIME = {
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
}
# An interactive widget (06's drawing pad) needs a kernel: the page says so in its place.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
_GLOSSARY_HEADING = re.compile(r'^(#+) <a id="([^"]+)"></a>', re.M)
_NOTEBOOK_LINK = re.compile(r"\]\((\d\d_\w+\.ipynb)")
_HELPER_LINK = re.compile(r"\]\((?:\.\./)+course_utils/")  # a cell's link to the helper it calls
_IN_PAGE_LINK = re.compile(r"\[([^\]]+)\]\(#[^)]+\)")
# The glossary's "Taught in" offers the Chinese notebook beside the English one: ` ([中文](zh/04_x.ipynb))`.
_CHINESE_NOTEBOOK_LINK = re.compile(r" \(\[中文\]\(zh/\d\d_\w+\.ipynb\)\)")

TEXT = {
    "en": {
        "title": "Handwritten digits with a small CNN",
        "intro": (
            "A notebook course that teaches, step by step, a small convolutional network that recognises "
            "handwritten digits (MNIST) with TensorFlow and Keras. These pages show every notebook as the "
            "course's runner executed it, with all its outputs: read a lesson here, then run it yourself."
        ),
        "contents": "Contents",
        "made": "Outputs made {date} (UTC{zone}) on the {device} with {versions}; {data}.",
        "device_cpu": "CPU (no GPU)",
        "device_gpu": "GPU ({names})",
        "device_unknown": "device that this partial run did not record (it ran neither 00 nor 04)",
        "data": "run with {parameters}",
        "measured": " (figures measured on {on})",
        "run_page": "run",
        "results": "Results of this run",
        "results_intro": (
            "The headline figure of each notebook in the run that made these pages, with the data it was "
            "measured on. The learning floor is the lowest value the tests accept at CI's parameters."
        ),
        "columns": ["Notebook", "Status", "Time", "Figure", "Value", "Measured on", "Floor"],
        "none": "—",
        "status": {"ok": "ok", "failed": "failed", "not run": "not run", "interrupted": "interrupted"},
        "passed": {True: "passed", False: "below", None: "not measured"},
        "missing": "This run did not execute these notebooks: {names}.",
        "widget": "*(An interactive widget was here: run the notebook to use it.)*",
    },
    "zh": {
        "title": "用小型卷积网络识别手写数字",
        "intro": (
            "一门笔记本课程：一步一步讲解一个用 TensorFlow 和 Keras 识别手写数字（MNIST）的小型卷积网络。"
            "这些页面展示课程运行器执行后的每个笔记本及其全部输出：先在这里阅读，再自己运行。"
        ),
        "contents": "目录",
        "made": "输出生成于 {date}（UTC{zone}），在 {device} 上，使用 {versions}；{data}。",
        "device_cpu": "CPU（无 GPU）",
        "device_gpu": "GPU（{names}）",
        "device_unknown": "本次部分运行未记录的设备（它没有运行 00 和 04）",
        "data": "运行参数 {parameters}",
        "measured": "（指标测量于 {on}）",
        "run_page": "run",
        "results": "本次运行的结果",
        "results_intro": "生成这些页面的那次运行中，每个笔记本的关键数值，以及测量所用的数据。"
        "学习下限是测试在 CI 参数下接受的最低值。",
        "columns": ["笔记本", "状态", "用时", "指标", "数值", "测量数据", "下限"],
        "none": "—",
        "status": {"ok": "成功", "failed": "失败", "not run": "未运行", "interrupted": "已中断"},
        "passed": {True: "达到", False: "低于", None: "未测量"},
        "missing": "这次运行没有执行这些笔记本：{names}。",
        "widget": "*（这里原有一个交互式控件：运行笔记本即可使用。）*",
    },
}


# --- what the run says about itself ----------------------------------------------------------------------


def read_summary(run: Path) -> dict:
    """The run's ``summary.json``; ``ValueError`` (saying how to make one) when there is none."""
    path = run / "summary.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"no run of the course in {run} ({exc}); run it first: python -m course_utils run"
        ) from exc


def _outputs_of(notebooks: list, call: str) -> list[dict]:
    """The outputs of the first code cell (in the run's order) whose source calls ``call``."""
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type == "code" and call in cell.source:
                return list(cell.get("outputs", []))
    return []


def _literal(outputs: list[dict]):
    """The Python value that an ``execute_result`` shows (a dict or a list), else None."""
    for output in outputs:
        text = (
            output.get("data", {}).get("text/plain")
            if output.get("output_type") == "execute_result"
            else None
        )
        if text:
            try:
                return ast.literal_eval(text if isinstance(text, str) else "".join(text))
            except (ValueError, SyntaxError):
                return None
    return None


def made_with(summary: dict, notebooks: list, lang: str) -> str:
    """One line: when the run ran, on what device, with which versions and data (the run's summary, and the
    GPU line the notebooks printed)."""
    text = TEXT[lang]
    found = {k: v for k, v in summary.get("versions", {}).items() if k in ("tensorflow", "keras", "python")}
    found["course_utils"] = summary.get("versions", {}).get("course_utils", "?")
    names = {"tensorflow": "TensorFlow", "keras": "Keras", "python": "Python", "course_utils": "course_utils"}
    version_text = ", ".join(f"{names[k]} {v}" for k, v in found.items())
    gpus = _literal(_outputs_of(notebooks, "setup_gpu()"))
    if not isinstance(gpus, list):  # notebook 00 is not in this run: the line setup_gpu printed elsewhere
        printed = "".join(
            "".join(o.get("text", ""))
            for o in _outputs_of(notebooks, "setup_gpu(")
            if o.get("name") == "stdout"
        )
        line = next((line for line in printed.splitlines() if "GPU" in line), "")
        found_gpus = re.match(r"\s*(\d+) GPU", line)
        gpus = [line.split(":", 1)[-1].strip()] if found_gpus else ([] if "CPU" in line else None)
    if gpus == []:
        device = text["device_cpu"]
    elif gpus:
        device = text["device_gpu"].format(names=", ".join(map(str, gpus)))
    else:
        device = text["device_unknown"]
    parameters = summary.get("parameters", {})
    shown = {
        k: parameters[k]
        for k in ("dataset", "data_source", "epochs", "batch_size", "seed")
        if k in parameters
    }
    figures = [f for row in summary.get("notebooks", []) for f in row.get("figures") or []]
    measured = sorted({f["data"] for f in figures if f.get("data")})
    data = text["data"].format(parameters=", ".join(f"{k}={v}" for k, v in shown.items()))
    if measured:
        data += text["measured"].format(on="; ".join(measured))
    date = summary.get("date", "?").replace("T", " ")[:16]  # to the minute
    zone = summary.get("date", "")[19:] or "?"
    return text["made"].format(date=date, zone=zone, device=device, versions=version_text, data=data)


# --- the pages --------------------------------------------------------------------------------------------


def link_missing_notebooks(markdown: str, present: set[str], lang: str) -> str:
    """Links to notebooks that this run did not execute (a partial run) point at the repository's copy."""
    folder = "notebooks" if lang == "en" else f"notebooks/{lang}"

    def replace(match: re.Match) -> str:
        name = match.group(1)
        return match.group(0) if name in present else f"]({REPO_URL}/blob/main/{folder}/{name}"

    return _NOTEBOOK_LINK.sub(replace, markdown)


def clean_notebook(nb, lang: str, present: set[str]):
    """The executed notebook as the site shows it: outputs a page cannot show dropped (the runner's records),
    glossary links of the Chinese notebooks (which live in notebooks/zh) pointed at the glossary beside them,
    and links to notebooks that the run left out pointed at the repository."""
    nb.metadata.pop("widgets", None)  # the widgets' saved state: nothing on a static page uses it
    for cell in nb.cells:
        if cell.cell_type == "code":
            kept = []
            for output in cell.get("outputs", []):
                if WIDGET_MIME in output.get("data", {}):
                    output["data"] = {"text/markdown": TEXT[lang]["widget"]}
                if "data" in output:
                    output["data"] = {k: v for k, v in output["data"].items() if k in SHOWN_MIME}
                    if not output["data"]:
                        continue
                kept.append(output)
            cell.outputs = kept
        elif cell.cell_type == "markdown":
            source = cell.source if lang == "en" else cell.source.replace("](../glossary.md", "](glossary.md")
            source = _HELPER_LINK.sub(f"]({REPO_URL}/blob/main/course_utils/", source)  # a helper's code
            source = _IN_PAGE_LINK.sub(r"\1", source)  # JupyterLab's heading anchors: plain text here
            cell.source = link_missing_notebooks(source, present, lang)
    return nb


def glossary_page(markdown: str) -> str:
    """The glossary with each term's ``<a id="term"></a>`` (which JupyterLab and GitHub follow) made a MyST
    target before its heading: Sphinx gives the heading that id, and ``glossary.md#term`` resolves to it."""
    markdown = _CHINESE_NOTEBOOK_LINK.sub("", markdown)  # each site links its own language's notebook
    return _GLOSSARY_HEADING.sub(lambda m: f"({m.group(2)})=\n{m.group(1)} ", markdown)


def _cell(value) -> str:
    return html.escape(str(value)).replace("|", "\\|")


def results_page(summary: dict, lang: str) -> str:
    """The run's headline table as Markdown: one row per figure, with the data it was measured on."""
    text = TEXT[lang]
    lines = [f"# {text['results']}", "", text["results_intro"], ""]
    lines += ["| " + " | ".join(text["columns"]) + " |", "|" + "---|" * len(text["columns"])]
    for row in summary.get("notebooks", []):
        stem = Path(row["name"]).stem
        link = f"[{stem}]({row['name']})" if row.get("status") != "not run" else stem
        status = text["status"].get(row.get("status"), row.get("status"))
        seconds = f"{row['seconds']:.0f} s" if isinstance(row.get("seconds"), (int, float)) else text["none"]
        headlines = row.get("figures") or [None]
        for headline in headlines:
            if headline is None:
                figure = value = on = floor = text["none"]
            else:
                figure, value = headline.get("name", ""), headline.get("text", headline.get("value"))
                on = headline.get("data") or text["none"]
                limit = headline.get("floor") or {}
                floor = (
                    f"{limit['text']} ({text['passed'][limit.get('passed')]})"
                    if limit.get("text")
                    else text["none"]
                )
            cells = [link, status, seconds, figure, value, on, floor]
            lines.append("| " + " | ".join(c if c is link else _cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def index_page(lang: str, notebooks: list[str], made: str, missing: list[str]) -> str:
    """The home page: what the course is, what made the outputs, and the table of contents."""
    text = TEXT[lang]
    lines = [
        f"# {text['title']}",
        "",
        text["intro"],
        "",
        f"<p data-course-made-with>{html.escape(made)}</p>",
        "",
    ]
    if missing:
        lines += [text["missing"].format(names=", ".join(missing)), ""]
    lines += ["```{toctree}", ":maxdepth: 1", f":caption: {text['contents']}", "", "run"]
    lines += [Path(name).stem for name in notebooks]
    lines += ["glossary", "results", "```", ""]
    return "\n".join(lines)


def prepare_sources(run: Path, lang: str, source: Path, course_names: list[str]) -> dict:
    """Write one language's Sphinx source folder from its run: notebooks, glossary, run page, results, home.

    Returns what the build needs to know: the run's summary, the made-with line and the page names.
    """
    import nbformat

    summary = read_summary(run)
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    rows = [
        row
        for row in summary.get("notebooks", [])
        if row.get("status") != "not run" and (run / row["name"]).is_file()
    ]
    present = {row["name"] for row in rows}
    executed = []
    for row in rows:
        nb = clean_notebook(nbformat.read(run / row["name"], as_version=4), lang, present)
        nbformat.write(nb, source / row["name"])
        executed.append((row["name"], nb))
    names = [name for name, _ in executed]
    made = made_with(summary, [nb for _, nb in executed], lang)
    missing = [Path(n).stem for n in course_names if n not in names]
    glossary = glossary_page(GLOSSARY.read_text(encoding="utf-8"))
    (source / "glossary.md").write_text(link_missing_notebooks(glossary, present, lang), encoding="utf-8")
    shutil.copy(FILES / lang / "run.md", source / "run.md")
    (source / "results.md").write_text(results_page(summary, lang), encoding="utf-8")
    (source / "index.md").write_text(index_page(lang, names, made, missing), encoding="utf-8")
    pages = {"index", "run", "glossary", "results", *(Path(n).stem for n in names)}
    return {"summary": summary, "made": made, "pages": pages}


# --- the build --------------------------------------------------------------------------------------------


def sphinx_config(lang: str, made: str) -> dict:
    """Sphinx's settings for one language (no conf.py: everything is here)."""
    return {
        "project": TEXT[lang]["title"],
        "language": SPHINX_LANGUAGE[lang],
        "extensions": ["myst_nb"],
        "nb_execution_mode": "off",  # show the runner's outputs; never execute again
        "nb_merge_streams": True,  # Keras' training log as one block, not one per write
        "nb_ipywidgets_js": {},  # widgets are replaced by a note: no scripts from a CDN, pages work offline
        "myst_heading_anchors": 3,
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "suppress_warnings": ["mystnb.unknown_mime_type"],
        "html_theme": "sphinx_book_theme",
        "html_title": TEXT[lang]["title"],
        "html_static_path": [str(FILES / "static")],
        "html_css_files": ["course.css"],
        "templates_path": [str(FILES / "templates")],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "html_theme_options": {
            "article_header_end": ["lang-switch.html", "article-header-buttons.html"],
            "use_download_button": False,
            "announcement": html.escape(made),
            "repository_url": REPO_URL,
            "use_repository_button": True,
            "home_page_in_toc": True,
            "footer_content_items": [],  # no "By Author name not set"
        },
        "html_context": {"course_other_lang": "", "course_other_label": ""},
    }


def configure(lang: str, made: str, other_pages: list[str]) -> dict:
    """What the generated conf.py of one language holds: the settings, and a ``setup`` that gives every
    page the address of the same page in the other language (its home page where the other run lacks it)."""
    other = "zh" if lang == "en" else "en"
    config = sphinx_config(lang, made)
    config["html_context"] = {"course_other_lang": other, "course_other_label": LABEL[other]}

    def add_switch(app, pagename, templatename, context, doctree):
        target = pagename if pagename in other_pages else "index"
        context["course_switch"] = "../" * (pagename.count("/") + 1) + f"{other}/{target}.html"

    def setup(app):
        app.connect("html-page-context", add_switch, priority=100)  # before the theme renders its header

    return {**config, "setup": setup}


def build_language(
    source: Path, output: Path, lang: str, made: str, other_pages: set[str], quiet: bool
) -> None:
    """Build one language's site from its prepared source folder with sphinx-build in its own process (two
    Sphinx builds in one process clash); a warning fails the build. ``output`` receives the HTML."""
    import subprocess

    arguments = (lang, made, sorted(other_pages))
    (source / "conf.py").write_text(
        "# Written by course_tools.site (make site); rebuilt on every build.\n"
        "from course_tools.site import configure\n\n"
        f"globals().update(configure(*{arguments!r}))\n",
        encoding="utf-8",
    )
    build = source.parent / "_build" / lang  # myst-nb keeps its files beside the HTML
    if build.exists():
        shutil.rmtree(build)  # no page of an earlier build stays
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    html_dir = build / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going"]
    command += ["-d", str(build / "doctrees"), str(source), str(html_dir), *(["-q"] if quiet else [])]
    if subprocess.run(command, env=env).returncode:
        raise RuntimeError(f"sphinx-build failed on the {lang} site (its messages are above)")
    shutil.copytree(html_dir, output)


def build_site(
    runs: dict[str, Path] | None = None, output: Path = DEFAULT_OUTPUT, quiet: bool = True
) -> Path:
    """Build ``output/en`` and ``output/zh`` from the runs (``{"en": build/course, "zh": build/course-zh}``)
    and ``output/index.html``; returns ``output``. ``ValueError`` when a run is missing."""
    runs = {**DEFAULT_RUNS, **(runs or {})}
    output = Path(output)
    work = output.parent / f".{output.name}-source"
    course_names = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    prepared = {
        lang: prepare_sources(Path(runs[lang]), lang, work / lang, course_names) for lang in LANGUAGES
    }
    if output.exists():
        shutil.rmtree(output)
    for lang in LANGUAGES:
        other = "zh" if lang == "en" else "en"
        build_language(
            work / lang, output / lang, lang, prepared[lang]["made"], prepared[other]["pages"], quiet
        )
    (output / "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>MNIST course</title>\n'
        '<meta http-equiv="refresh" content="0; url=en/index.html"></head>\n'
        '<body><p><a href="en/index.html">English</a> · <a href="zh/index.html" lang="zh">中文</a></p>'
        "</body></html>\n",
        encoding="utf-8",
    )
    (output / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve _static as it is
    return output


# The pages of the closing notes' screenshots, and what each is scrolled to: a code cell calling one of the
# names (its first picture), or an anchor.
SHOTS = (
    ("02_visualization", ("show_digit_grid(", "plt.subplot("), None),
    ("04_compile_fit", ("show_training_curves(", "history.history"), None),
    ("glossary", (), "tensorboard"),
)


def take_screenshots(site: Path, folder: Path) -> list[Path]:
    """Screenshots of 02 (at the digit grid), 04 (at the training curves) and the glossary (at a term), in
    both languages, of the site built in ``site``: ``folder/en_02_visualization.png`` and so on. Needs
    Playwright and Chromium ($COURSE_CHROMIUM, or ``chromium`` on PATH), as the browser tests do."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            for lang in LANGUAGES:
                for name, calls, anchor in SHOTS:
                    if not (site / lang / f"{name}.html").is_file():
                        continue
                    url = f"http://127.0.0.1:{server.server_port}/{lang}/{name}.html"
                    page.goto(f"{url}#{anchor}" if anchor else url)
                    for call in calls:
                        cell = page.locator("div.cell").filter(has=page.locator(".cell_input", has_text=call))
                        if cell.count() and cell.first.locator("img").count():
                            cell.first.locator("img").first.scroll_into_view_if_needed()
                            break
                    page.wait_for_timeout(300)
                    path = folder / f"{lang}_{name}.png"
                    page.screenshot(path=str(path))
                    written.append(path)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.site", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--course", type=Path, default=DEFAULT_RUNS["en"], help="the English run (build/course)"
    )
    parser.add_argument(
        "--course-zh", type=Path, default=DEFAULT_RUNS["zh"], help="the Chinese run (build/course-zh)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the site's folder (build/site)")
    parser.add_argument(
        "--verbose", action="store_true", help="print Sphinx's progress, not only its warnings"
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        metavar="DIR",
        help="then take screenshots of 02, 04 and the glossary in both languages into DIR (build/site-shots)",
    )
    parser.add_argument("--no-build", action="store_true", help="use the site already in --output")
    args = parser.parse_args(argv)
    if not args.no_build:
        start = time.perf_counter()
        try:
            output = build_site(
                {"en": args.course, "zh": args.course_zh}, args.output, quiet=not args.verbose
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Built {output / 'index.html'} in {time.perf_counter() - start:.0f} s (English and 中文)")
    if args.screenshots:
        for path in take_screenshots(args.output, args.screenshots):
            print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
