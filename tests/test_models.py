"""The lesson's model: its architecture, parameter count and output shape."""

import warnings

import numpy as np

from course_utils.models import build_cnn, compile_cnn, count_multiply_adds, layer_table


def test_parameter_count_is_the_designs():
    model = build_cnn()
    assert model.count_params() == 121_930  # 320 + 18,496 + 102,464 + 650, worked out by hand in 03
    assert [row[3] for row in layer_table(model)] == [320, 0, 18_496, 0, 0, 102_464, 650]


def test_layer_output_shapes():
    shapes = [row[2] for row in layer_table(build_cnn())]
    assert shapes == [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (1600,), (64,), (10,)]


def test_output_is_ten_logits_per_image_and_builds_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = compile_cnn(build_cnn())
    out = model.predict(np.zeros((3, 28, 28, 1), "float32"), verbose=0)
    assert out.shape == (3, 10)
    assert model.loss.from_logits and model.layers[-1].activation.__name__ == "linear"


def test_multiply_adds_per_image_worked_out_by_hand():
    conv1 = 26 * 26 * 32 * (3 * 3 * 1)  # 194,688
    conv2 = 11 * 11 * 64 * (3 * 3 * 32)  # 2,230,272
    dense = 1600 * 64 + 64 * 10  # 103,040
    assert count_multiply_adds(build_cnn()) == conv1 + conv2 + dense == 2_528_000


def test_layer_table_is_the_same_on_every_machine(capsys):
    from course_utils.models import print_layer_table

    print_layer_table(build_cnn())
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "kind", "output", "shape", "parameters"]
    assert lines[1].split() == ["conv1", "Conv2D", "(26,", "26,", "32)", "320"]
    assert lines[-1].split() == ["total", "121,930"] and len({len(line) for line in lines}) == 1
