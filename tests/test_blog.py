"""The blog's lesson, as a learner would copy it: the cells tagged ``blog`` in 00-05, in notebook order,
pasted into one empty notebook and run in one fresh kernel.

The course implements the week-1 blog of the 365天深度学习训练营 (K同学啊). Each of its steps lives in a cell
tagged ``blog`` in the notebook that teaches it (``STEPS`` says which notebook and what the code must show).
The run gets the data through the course's fallback (the offline sample: this machine has no internet) and
one epoch, and must give the blog's shapes and a model that learned.
"""

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {f"{n:02d}": next((ROOT / "notebooks").glob(f"{n:02d}_*.ipynb")) for n in range(6)}
BLOG_TAG = "blog"

# Each step of the blog, in its order: the notebook whose `blog` cells carry it, and what their code must
# contain (every pattern). 04 and 05 take their epochs from the parameters, so the run can shorten training.
STEPS = [
    ("00", "print the time", [r"datetime\.datetime\.now\(\)"]),
    ("00", "list the GPUs", [r"tf\.config\.list_physical_devices\(\"GPU\"\)"]),
    ("00", "GPU memory growth", [r"tf\.config\.experimental\.set_memory_growth\("]),
    ("00", "the visible GPU", [r"tf\.config\.set_visible_devices\("]),
    (
        "01",
        "load MNIST",
        [r"\(train_images, train_labels\), \(test_images, test_labels\) = datasets\.mnist\.load_data\(\)"],
    ),
    ("01", "scale the pixels", [r"train_images / 255\.0", r"test_images / 255\.0"]),
    ("01", "reshape to (N, 28, 28, 1)", [r"train_images\.reshape\(", r"test_images\.reshape\("]),
    (
        "02",
        "the 2 x 10 grid",
        [r"plt\.figure\(figsize=\(20, 10\)\)", r"plt\.subplot\(2, 10, i \+ 1\)", r"plt\.xlabel\("],
    ),
    ("03", "the Sequential model", [r"model = models\.Sequential\(", r"layers\.Conv2D\(32, \(3, 3\)"]),
    ("03", "the summary", [r"model\.summary\(\)"]),
    (
        "04",
        "compile",
        [
            r"model\.compile\(",
            r"optimizer=([\"']adam[\"']|keras\.optimizers\.Adam\()",
            r"SparseCategoricalCrossentropy\(from_logits=True\)",
        ],
    ),
    (
        "04",
        "fit, watching the test set",
        [
            r"history = model\.fit\(",
            r"validation_data=\(test_images, test_labels\)",
            r"epochs=(params\.)?epochs\b",
        ],
    ),
    ("04", "the accuracy plot", [r"plt\.plot\(", r"history\.history\["]),
    ("05", "show test_images[1]", [r"plt\.imshow\(test_images\[1\]\)"]),
    ("05", "predict the test set", [r"pre = model\.predict\(test_images[,)]", r"^pre\[1\]"]),
    ("05", "softmax and argmax", [r"softmax\(", r"argmax\("]),
]
SAMPLE = {"train": [4000, 28, 28, 1], "test": [1000, 28, 28, 1]}  # the offline MNIST sample, reshaped
ACCURACY_FLOOR = 0.8  # one epoch on the sample reaches about 0.9; a model that does not learn stays near 0.1


def blog_cells(number: str) -> list[str]:
    cells = nbformat.read(NOTEBOOKS[number], as_version=4).cells
    return [c.source for c in cells if c.cell_type == "code" and BLOG_TAG in c.metadata.get("tags", [])]


def tagged_steps() -> set[str]:
    """The steps whose notebook's ``blog`` cells show all of the step's code."""
    found = set()
    for number, step, patterns in STEPS:
        code = "\n".join(blog_cells(number))
        if all(re.search(pattern, code, re.M) for pattern in patterns):
            found.add(step)
    return found


@pytest.mark.parametrize("number", sorted(NOTEBOOKS), ids=lambda n: NOTEBOOKS[n].stem)
def test_each_step_of_the_blog_is_in_a_blog_cell_of_its_notebook(number):
    missing = [
        f"{step} ({' and '.join(patterns)})"
        for n, step, patterns in STEPS
        if n == number and step not in tagged_steps()
    ]
    assert not missing, f"{NOTEBOOKS[number].name}: no cell tagged {BLOG_TAG!r} shows {missing}"


def test_the_blog_cells_run_in_order_in_one_fresh_kernel(tmp_path):
    empty_keras_home = tmp_path / "keras"  # no cached MNIST: the data comes through the course's fallback
    start = nbformat.v4.new_code_cell(
        "# What the parameters cells would set: one epoch, and no network.\n"
        "from course_utils.params import check_params\n\n"
        'epochs, batch_size, data_source, dataset = 1, 32, "offline", "mnist"\n'
        f"artifacts_dir = {str(tmp_path / 'artifacts')!r}\n"
        "params = check_params(epochs=epochs, batch_size=batch_size, data_source=data_source,\n"
        "                      dataset=dataset, artifacts_dir=artifacts_dir)"
    )
    report = nbformat.v4.new_code_cell(
        "import json\n"
        "found = {'train': list(train_images.shape), 'test': list(test_images.shape),\n"
        "         'logits': list(model.output_shape)}\n"
        "if 'history' in globals():\n"
        "    found['val_accuracy'] = float(history.history['val_accuracy'][-1])\n"
        "if 'pre' in globals():\n"
        "    found['pre'] = list(pre.shape)\n"
        "print(json.dumps(found))"
    )
    pasted = [nbformat.v4.new_code_cell(source) for n in sorted(NOTEBOOKS) for source in blog_cells(n)]
    notebook = nbformat.v4.new_notebook(cells=[start, *pasted, report])
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DATA_DIR", "TF_CPP_MIN_LOG_LEVEL")}
    env.update(KERAS_HOME=str(empty_keras_home), PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute(env=env)

    loaded = "".join(o.get("text", "") for o in notebook.cells[1 + len(blog_cells("00"))].outputs)
    assert "the course's loader does" in loaded and "offline sample" in loaded, loaded
    found = json.loads(notebook.cells[-1].outputs[-1]["text"])
    assert found["train"] == SAMPLE["train"] and found["test"] == SAMPLE["test"]
    assert found["logits"] == [None, 10]
    steps = tagged_steps()
    if "fit, watching the test set" in steps:  # 04's cells are tagged (the test above says which are missing)
        assert found["val_accuracy"] > ACCURACY_FLOOR, found
    if "predict the test set" in steps:
        assert found["pre"] == [SAMPLE["test"][0], 10]
    print(f"blog cells run: {len(pasted)}; steps found: {len(steps)} of {len(STEPS)}", file=sys.stderr)
