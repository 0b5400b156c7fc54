"""Learner-facing messages in Chinese: set_language switches them, and the message catalog is complete."""

import ast
import string
from pathlib import Path

import polib
import pytest

import course_utils
from course_tools import messages as catalog_tools
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
    messages = catalog_tools.extract_messages(catalog_tools.wrapped_sources())
    assert len(messages) > 250
    catalog = _catalog()
    entries = {entry.msgid: entry for entry in catalog if not entry.obsolete}
    missing = [
        f"{m!r} ({', '.join(places)})"
        for m, places in messages.items()
        if m not in entries or not entries[m].msgstr or entries[m].fuzzy
    ]
    assert missing == [], "run `python -m course_tools translate --update` and translate these"
    assert [m for m in messages if _names(m) != _names(entries[m].msgstr)] == [], "placeholders differ"
    unused = sorted(entry.msgid for entry in catalog if entry.msgid not in messages or entry.obsolete)
    assert unused == [], "no module uses these any more: delete them from course_utils.po"


# The modules whose messages a learner reads in the notebooks (the exercises aside).
LEARNER_MODULES = (
    "data.py",
    "sources.py",
    "params.py",
    "env.py",
    "models.py",
    "training.py",
    "distribute.py",
    "plots.py",
    "digits.py",
    "drawing_pad.py",
)


def test_the_catalog_is_extracted_from_every_module_of_the_package():
    sources = {path.name for path in catalog_tools.wrapped_sources()}
    modules = {path.name for path in (ROOT / "course_utils").rglob("*.py")}
    assert modules <= sources
    places = {
        place.split(":")[0]
        for found in catalog_tools.extract_messages(catalog_tools.wrapped_sources()).values()
        for place in found
    }
    assert {*LEARNER_MODULES, "checking.py", "index.html.j2"} <= places


# Messages a learner can meet that stay English on purpose: tables aligned by column (CJK characters are two
# columns wide), the custom loop's epoch line (it mirrors Keras' own log, which is English), and what only an
# instructor meets (a multi-worker cluster's TF_CONFIG).
ENGLISH_ON_PURPOSE = {
    ("models.py", "print_layer_table"),
    ("distribute.py", "read_tf_config"),
    ("distribute.py", "train_custom_loop"),
}


def _unwrapped_messages(path):
    """(function, line, text) of each print(...) or raise X(...) in ``path`` given a plain or f-string."""
    found = []

    def visit(node, function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name  # the innermost function names the place
        call = node.exc if isinstance(node, ast.Raise) else node
        is_print = isinstance(call, ast.Call) and getattr(call.func, "id", None) == "print"
        if isinstance(call, ast.Call) and call.args and (isinstance(node, ast.Raise) or is_print):
            text = call.args[0]
            if isinstance(text, ast.JoinedStr) or (
                isinstance(text, ast.Constant)
                and isinstance(text.value, str)
                and any(c.isalpha() for c in text.value)
            ):
                found.append((function, node.lineno, ast.unparse(text)[:60]))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_learner_facing_modules_print_and_raise_only_wrapped_messages():
    """A new ``print(f"...")`` or ``raise ValueError(f"...")`` in a learner-facing module fails here: wrap it
    with ``_()`` (and translate it), or add it to ENGLISH_ON_PURPOSE with the reason."""
    unwrapped = []
    for name in LEARNER_MODULES:
        path = ROOT / "course_utils" / name
        unwrapped += [
            f"{path.name}:{line} {function}: {text}"
            for function, line, text in _unwrapped_messages(path)
            if (path.name, function) not in ENGLISH_ON_PURPOSE
        ]
    assert unwrapped == []


def test_the_scan_finds_an_unwrapped_message(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('def f(x):\n    if x:\n        raise ValueError(f"bad {x}")\n    print("fine")\n')
    assert [(function, line) for function, line, _ in _unwrapped_messages(module)] == [("f", 3), ("f", 4)]


def test_bad_parameters_data_and_files_are_reported_in_chinese_then_english_again(chinese, tmp_path, capsys):
    from course_utils.data import load_dataset
    from course_utils.digits import load_image
    from course_utils.params import check_params

    with pytest.raises(
        ValueError,
        match=r"^data_source 必须是 \['auto', 'offline', 'sample', 'full'\] 之一，你给的是 'bogus'$",
    ):
        check_params(data_source="bogus")
    with pytest.raises(ValueError, match=r"^未知参数 'epoch'；你是不是想写 'epochs'？$"):
        check_params(epoch=3)
    with pytest.raises(
        ValueError, match=r"^dataset 必须是 \['fashion_mnist', 'mnist'\] 之一，你给的是 'cifar10'$"
    ):
        load_dataset("cifar10")
    missing = tmp_path / "my_digit.png"
    with pytest.raises(FileNotFoundError, match=r"my_digit.png：没有这个文件；image_path 必须是一个图像文件"):
        load_image(missing)
    (tmp_path / "blank.png").write_bytes(b"")
    with pytest.raises(ValueError, match=r"blank.png 是空的（0 字节）：不是图像"):
        load_image(tmp_path / "blank.png")

    course_utils.set_language("en")
    with pytest.raises(
        ValueError, match=r"^data_source must be one of \['auto', 'offline', 'sample', 'full'\], got 'bogus'$"
    ):
        check_params(data_source="bogus")
    with pytest.raises(
        FileNotFoundError, match=r"my_digit.png: no such file; image_path must name an image file"
    ):
        load_image(missing)


def test_the_data_line_and_its_warnings_come_in_chinese(
    chinese, no_data_sources, tmp_path, monkeypatch, capsys
):
    from course_utils.data import DATASETS, IDX_FILES, keras_cache_folder, load_dataset

    monkeypatch.setenv("FASHION_MNIST_DATA_DIR", str(tmp_path / "nowhere"))
    cache = keras_cache_folder(DATASETS["fashion_mnist"])
    cache.mkdir(parents=True)
    for name in IDX_FILES:  # a damaged copy: refused, with a warning
        (cache / name).write_bytes(b"not the published file")
    data = load_dataset("fashion_mnist", "offline")
    out = capsys.readouterr().out.splitlines()
    nowhere = str(tmp_path / "nowhere")
    assert out[0] == f"警告：$FASHION_MNIST_DATA_DIR 设为 {nowhere!r}，但它不是文件夹；已忽略它。"
    assert out[1].startswith(f"警告：不使用 Keras 缓存 中的副本：{cache / IDX_FILES[0]}：SHA-256 ")
    assert out[1].endswith("不符。没有改动这个文件，也不使用它；请删除或替换它。")
    assert out[2].startswith("数据：离线样本：随课程提供的 5,000 张真实 Fashion-MNIST 图像")
    assert out[2].endswith("结果与完整的 Fashion-MNIST 数据集（60,000 / 10,000 张图像）不同。")
    assert data.source.startswith("离线样本")


def test_a_saved_model_that_cannot_be_used_is_explained_in_chinese(chinese, tmp_path):
    from course_utils.params import check_params
    from course_utils.training import ArtifactError, load_trained_model

    params = check_params(artifacts_dir=str(tmp_path))
    saved = tmp_path / "model-20260101-000000-000000-abcdefgh"
    saved.mkdir()
    (saved / "model.json").write_text("{not json")
    with pytest.raises(ArtifactError, match=r"model.json 不是可读的 JSON（.*）：请重新运行 04_compile_fit"):
        load_trained_model(params)


def test_plot_errors_come_in_chinese(chinese):
    import numpy as np

    from course_utils import plots

    with pytest.raises(
        ValueError, match=r"^probabilities 必须在 \[0, 1\] 之间；这些是 logits 吗？请先应用 softmax$"
    ):
        plots.show_probabilities(np.array([3.0, -1.0]), ["a", "b"])
    with pytest.raises(
        ValueError, match=r"^images 的形状必须是 \(N, H, W\) 或 \(N, H, W, 1\)，但得到的是 \(28, 28\)$"
    ):
        plots.show_digit_grid(np.zeros((28, 28)), np.zeros(1, dtype=int))


def test_every_exercise_text_is_marked_for_translation():
    messages = catalog_tools.extract_messages(catalog_tools.wrapped_sources())
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
    EXERCISE_SETS["nb01"].q2.check(51)
    assert capsys.readouterr().out.startswith("Not yet. 51 is the raw value")
    assert course_utils.set_language("zh-CN") == "zh_CN"
    EXERCISE_SETS["nb01"].q2.check(51)
    assert capsys.readouterr().out.startswith("还不对。")
    assert course_utils.set_language("en") == "en"
    EXERCISE_SETS["nb01"].q2.check(51)
    assert capsys.readouterr().out.startswith("Not yet. 51 is the raw value")


def test_an_unknown_language_is_refused_naming_the_available_ones(capsys):
    with pytest.raises(ValueError, match=r"available: en, zh_CN"):
        course_utils.set_language("fr")
    EXERCISE_SETS["nb01"].q2.check(51)
    assert capsys.readouterr().out.startswith("Not yet. 51 is the raw value")


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
        catalog_tools.extract_messages([module])


def test_no_compiled_catalogs_are_committed():
    assert list((ROOT / "locale").rglob("*.mo")) == []


def test_figures_in_chinese_notebooks_need_no_cjk_font(chinese):
    """Plots keep English labels (the default font has no CJK glyphs): drawn after set_language("zh_CN"),
    no figure warns of a missing glyph."""
    import io
    import warnings

    import numpy as np

    from course_utils import digits, plots

    rng = np.random.default_rng(0)
    images, labels = rng.random((12, 28, 28)), np.arange(12) % 10
    names = [str(d) for d in range(10)]
    history = {"loss": [1.0, 0.5], "accuracy": [0.6, 0.8], "val_loss": [0.9, 0.6], "val_accuracy": [0.7, 0.8]}
    figures = [
        plots.show_digit_grid(images, labels, names, rows=1, cols=4, predictions=(labels + 1) % 10),
        plots.show_training_curves(history),
        plots.show_probabilities(np.full(10, 0.1), names, true_label=3),
        plots.show_mistakes(images, labels, (labels + 1) % 10, names, max_images=4),
        digits.show_preprocessing_steps(digits.sample_digit_paths()[0]),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for figure in figures:
            figure.savefig(io.BytesIO(), format="png")
    assert [str(w.message) for w in caught if "glyph" in str(w.message).lower()] == []
    texts = [t.get_text() for f in figures for t in f.findobj(lambda a: hasattr(a, "get_text"))]
    assert [t for t in texts if any("\u4e00" <= c <= "\u9fff" for c in t)] == []
