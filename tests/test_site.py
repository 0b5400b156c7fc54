"""The website builder (course_tools.site) without a browser or Sphinx: what it makes of a run's files.

tests/test_site_browser.py builds the site from a real run and checks it in Chromium.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_tools import site


def notebook_with(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    return nb


def test_a_page_keeps_figures_and_logs_and_drops_outputs_a_browser_cannot_show():
    figure = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    log = new_output("stream", name="stdout", text="1875/1875 - accuracy: 0.98 - val_accuracy: 0.98\n")
    record = new_output(
        "display_data", data={"application/x-course-headline+json": {"name": "test accuracy"}}
    )
    nb = notebook_with(new_code_cell("fit()", outputs=[log, figure, record]))
    (cell,) = site.clean_notebook(nb, "en", set()).cells
    assert [o.output_type for o in cell.outputs] == ["stream", "display_data"]
    assert set(cell.outputs[1].data) == {"image/png", "text/plain"}


def test_an_interactive_widget_is_replaced_by_a_line_saying_to_run_the_notebook():
    pad = new_output(
        "display_data",
        data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "1"},
            "text/plain": "VBox(children=…)",
        },
    )
    nb = notebook_with(new_code_cell("display(drawing_pad(model))", outputs=[pad]))
    (cell,) = site.clean_notebook(nb, "zh", set()).cells
    assert cell.outputs[0].data == {"text/markdown": "*（这里原有一个交互式控件：运行笔记本即可使用。）*"}


def test_links_lead_to_pages_of_the_site_or_to_the_repository():
    text = (
        "See [the optimizer](../glossary.md#optimizer), [04](04_compile_fit.ipynb) and "
        "[05](05_prediction.ipynb#top)."
    )
    nb = notebook_with(new_markdown_cell(text))
    (cell,) = site.clean_notebook(nb, "zh", {"04_compile_fit.ipynb"}).cells
    assert "](glossary.md#optimizer)" in cell.source  # zh notebooks sit in notebooks/zh, the page beside it
    assert "](04_compile_fit.ipynb)" in cell.source  # in this run: its page
    assert f"]({site.REPO_URL}/blob/main/notebooks/zh/05_prediction.ipynb#top)" in cell.source  # not in it
    english = notebook_with(new_markdown_cell("[05](05_prediction.ipynb)"))
    (cell,) = site.clean_notebook(english, "en", set()).cells
    assert cell.source == f"[05]({site.REPO_URL}/blob/main/notebooks/05_prediction.ipynb)"


def test_each_glossary_term_becomes_a_target_with_its_own_anchor():
    markdown = '# Glossary\n\n### <a id="feature-map"></a>Feature map · 特征图\n\nText.\n'
    assert site.glossary_page(markdown) == "# Glossary\n\n(feature-map)=\n### Feature map · 特征图\n\nText.\n"


def _summary(**parameters):
    return {
        "date": "2026-12-04T16:12:52+00:00",
        "versions": {"tensorflow": "2.21.0", "keras": "3.15.1", "python": "3.11.7", "course_utils": "0.1.0"},
        "parameters": {"dataset": "mnist", "data_source": "auto", "epochs": 10, "batch_size": 32, "seed": 42}
        | parameters,
        "notebooks": [
            {"name": "04_compile_fit.ipynb", "figures": [{"data": "the 10,000 MNIST test images"}]}
        ],
    }


def test_the_made_with_line_names_the_date_device_versions_and_data():
    environment = notebook_with(
        new_code_cell(
            "gpus = setup_gpu()\ngpus", outputs=[new_output("execute_result", data={"text/plain": "[]"})]
        ),
    )
    line = site.made_with(_summary(), [environment], "en")
    assert line.startswith("Outputs made 2026-12-04 16:12 (UTC+00:00) on the CPU (no GPU) with ")
    assert "TensorFlow 2.21.0, Keras 3.15.1, Python 3.11.7" in line
    assert "dataset=mnist, data_source=auto, epochs=10" in line
    assert "the 10,000 MNIST test images" in line
    chinese = site.made_with(_summary(), [environment], "zh")
    assert chinese.startswith("输出生成于 2026-12-04 16:12（UTC+00:00），在 CPU（无 GPU） 上")


@pytest.mark.parametrize(
    ("printed", "device"),
    [
        ("1 GPU(s) found, memory growth on: /physical_device:GPU:0\n", "on the GPU (/physical_device:GPU:0)"),
        ("No GPU found: TensorFlow will train on the CPU (slower, but the course is sized for it).\n", "CPU"),
        ("没有找到 GPU：TensorFlow 将在 CPU 上训练\n", "CPU"),
    ],
)
def test_without_notebook_00_the_device_comes_from_the_line_that_setup_gpu_printed(printed, device):
    data_line = "Data: MNIST from the package index (60,000 training / 10,000 test images)\n"
    training = notebook_with(
        new_code_cell(
            "data = load_dataset(params.dataset)\nsetup_gpu()",
            outputs=[new_output("stream", name="stdout", text=data_line + printed)],
        )
    )
    line = site.made_with(_summary(), [training], "en")
    assert device in line and "Python 3.11.7" in line and "package index" not in line


def test_the_results_page_has_a_row_per_figure_with_its_data_and_floor():
    summary = {
        "notebooks": [
            {"name": "02_visualization.ipynb", "status": "ok", "seconds": 8.5, "figures": []},
            {
                "name": "04_compile_fit.ipynb",
                "status": "ok",
                "seconds": 23.46,
                "figures": [
                    {
                        "name": "test accuracy",
                        "text": "98.34%",
                        "data": "MNIST from the package index (60,000 / 10,000)",
                        "floor": {"text": "86.00%", "passed": True},
                    }
                ],
            },
            {"name": "05_prediction.ipynb", "status": "not run", "seconds": None, "figures": []},
        ]
    }
    rows = [line for line in site.results_page(summary, "en").splitlines() if line.startswith("| [")]
    assert rows[1] == (
        "| [04_compile_fit](04_compile_fit.ipynb) | ok | 23 s | test accuracy | 98.34% "
        "| MNIST from the package index (60,000 / 10,000) | 86.00% (passed) |"
    )
    assert len(rows) == 2  # 05 did not run: its row names it without a link to a page that does not exist
    assert "| 05_prediction | not run |" in site.results_page(summary, "en")


def test_a_missing_run_is_refused_with_how_to_make_one(tmp_path):
    with pytest.raises(ValueError, match=r"no run of the course in .*course.*run it first"):
        site.build_site({"en": tmp_path / "course", "zh": tmp_path / "course-zh"}, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_prepare_sources_writes_every_page_of_a_language(tmp_path):
    run = tmp_path / "course"
    run.mkdir()
    nb = notebook_with(new_markdown_cell("# 02 · Looking at the data"), new_code_cell("1"))
    nbformat.write(nb, run / "02_visualization.ipynb")
    summary = _summary() | {"notebooks": [{"name": "02_visualization.ipynb", "status": "ok", "figures": []}]}
    (run / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    prepared = site.prepare_sources(
        run, "en", tmp_path / "src", ["00_environment.ipynb", "02_visualization.ipynb"]
    )
    names = sorted(p.name for p in (tmp_path / "src").iterdir())
    assert names == ["02_visualization.ipynb", "glossary.md", "index.md", "results.md", "run.md"]
    assert prepared["pages"] == {"index", "run", "glossary", "results", "02_visualization"}
    index = (tmp_path / "src" / "index.md").read_text(encoding="utf-8")
    assert "This run did not execute these notebooks: 00_environment." in index
    assert prepared["made"] in index
