"""The course's website (``make site``) in a real browser: headless Chromium driven by Playwright.

The site is built from a small real run of the runner, the way ``make site`` builds it from a full one: 02 and
04 in English and 02 in Chinese, one epoch on the offline sample (about a minute here). It is served over HTTP
on 127.0.0.1. The checks: 02 shows the digit grid as an image; 04 shows the training log and the curve; a
glossary link lands on its term; the switch goes to the same page in the other language; and no page has a
broken internal link. Screenshots go to build/browser/site_*.png (``python -m course_tools.site
--screenshots build/site-shots`` takes those of a built site).

Like tests/test_browser.py, the tests skip, saying why, where Playwright, a Chromium binary or the site's
tools (requirements-site.txt) are missing.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_browser import CHROMIUM, sync_api

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "browser"  # beside the notebooks' screenshots, named site_*
# The runner's command line (course_tools after issue 17 moves it there; course_utils before).
RUNNER = "course_tools" if (ROOT / "course_tools" / "__main__.py").is_file() else "course_utils"
SMALL_RUN = ["--epochs", "1", "--data-source", "sample"]

pytest.importorskip(
    "myst_nb", reason="the site's tools are not installed (pip install -r requirements-site.txt)"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium browser found (apt-get install chromium)"),
]


def run_course(output: Path, *options: str) -> None:
    command = [sys.executable, "-m", RUNNER, "run", *SMALL_RUN, *options, "--output", str(output)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built from a small run, served over HTTP: yields its address."""
    from course_tools.site import build_site

    root = tmp_path_factory.mktemp("site")
    run_course(root / "course", "--only", "02,04")
    run_course(root / "course-zh", "--lang", "zh", "--only", "02")
    build_site({"en": root / "course", "zh": root / "course-zh"}, root / "site", quiet=True)
    handler = functools.partial(QuietHandler, directory=str(root / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"site_{name}"))


def code_cell(page, *calls: str):
    """The first rendered code cell whose source holds one of ``calls``."""
    cells = page.locator("div.cell")
    for call in calls:
        found = cells.filter(has=page.locator(".cell_input", has_text=call))
        if found.count():
            return found.first
    pytest.fail(f"no code cell calls any of {calls} on {page.url}")


def test_the_02_page_shows_the_digit_grid_as_an_image(site, page):
    page.goto(f"{site}/en/02_visualization.html")
    cell = code_cell(page, "show_digit_grid(", "plt.subplot(")
    image = cell.locator(".cell_output img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    width, height = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 2.5 * height > 0, (width, height)  # 2 rows of 10 digits: a wide picture
    shot(page, "en_02_digit_grid.png")


def test_the_04_page_shows_the_training_log_and_the_curve(site, page):
    page.goto(f"{site}/en/04_compile_fit.html")
    log = code_cell(page, "model.fit(").locator(".cell_output").inner_text()
    assert "val_accuracy" in log and "loss" in log, log  # Keras' line for the epoch
    curves = page.locator("div.cell").filter(has=page.locator(".cell_input", has_text="history"))
    images = curves.locator(".cell_output img")
    assert images.count() >= 1, "no cell that reads the history shows a picture"
    images.first.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=images.first.element_handle())
    shot(page, "en_04_training_curve.png")


def test_a_glossary_link_in_04_lands_on_its_term(site, page):
    page.goto(f"{site}/en/04_compile_fit.html")
    link = page.locator('article a[href*="glossary.html#"]').first
    anchor = link.get_attribute("href").split("#", 1)[1]
    link.click()
    page.wait_for_url(f"**/en/glossary.html#{anchor}")
    target = page.locator(f'[id="{anchor}"]')
    assert target.count() == 1, f"{target.count()} elements have the id {anchor!r}"
    assert target.locator("h3, h2").first.is_visible()
    page.wait_for_function(
        "el => { const top = el.getBoundingClientRect().top; return top >= -2 && top < innerHeight / 3; }",
        arg=target.element_handle(),
    )
    shot(page, "en_glossary_term.png")


def test_the_switch_goes_to_the_same_page_in_the_other_language_and_back(site, page):
    page.goto(f"{site}/en/02_visualization.html")
    page.locator('[data-course-switch="zh"]').click()
    page.wait_for_url("**/zh/02_visualization.html")
    assert page.locator("html").get_attribute("lang").startswith("zh")
    assert "看看数据" in page.locator("article h1").first.inner_text()
    shot(page, "zh_02_digit_grid.png")
    page.locator('[data-course-switch="en"]').click()
    page.wait_for_url("**/en/02_visualization.html")
    # A page the other run lacks (the Chinese run here has no 04) leads to that language's home page.
    page.goto(f"{site}/en/04_compile_fit.html")
    page.locator('[data-course-switch="zh"]').click()
    page.wait_for_url("**/zh/index.html")
    page.goto(f"{site}/zh/glossary.html#tensorboard")
    shot(page, "zh_glossary_term.png")


class Links(HTMLParser):
    """The ids of a page and the addresses its links and images point at."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            value = attrs.get(key)
            if value and not value.startswith(("http:", "https:", "mailto:", "data:", "javascript:")):
                self.targets.append(value)


def test_a_crawl_of_every_page_finds_no_broken_internal_link(site, page):
    """Every page reached from the home page by internal links; each link's page exists (HTTP 200) and holds
    the anchor it names; each page says what made its outputs."""
    pages: dict[str, Links] = {}
    queue, seen, broken = [f"{site}/index.html"], set(), []
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read()
                kind = response.headers.get_content_type()
        except urllib.error.HTTPError as exc:
            broken.append(f"{url}: {exc.code}")
            continue
        if kind != "text/html":
            continue
        links = Links()
        links.feed(body.decode("utf-8"))
        pages[url] = links
        for target in links.targets:
            address = urllib.parse.urljoin(url, target).split("#")[0].split("?")[0]
            if address.startswith(site) and address not in seen:
                queue.append(address)
    assert not broken, broken
    for url, links in pages.items():
        for target in links.targets:
            address, _, fragment = urllib.parse.urljoin(url, target).partition("#")
            if fragment and address in pages:
                assert urllib.parse.unquote(fragment) in pages[address].ids, f"{url} links to {target}"
    for language in ("en", "zh"):
        for name in ("index", "run", "02_visualization", "glossary", "results"):
            assert f"{site}/{language}/{name}.html" in pages, f"{language}/{name}.html not reached"
    for url in pages:
        if url != f"{site}/index.html":
            page.goto(url)
            made = page.locator(".bd-header-announcement").inner_text()
            assert "UTC" in made and "epochs=1" in made, (url, made)
            if "/en/" in url:  # the English run has 04, which says whether TensorFlow found a GPU
                assert "on the CPU (no GPU)" in made or "on the GPU" in made, (url, made)
