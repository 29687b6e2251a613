"""RISE (Petsiuk et al. 2018) on the red/blue squares model: through the CLI, against
Occlusion, batched with progress and cancel, reproducible, and its options checked."""

import json

import numpy as np
import pytest
from PIL import Image

from convviz_gui.cli import main as cli
from convviz_gui.engine.cam import ClassScore, ExplanationCancelled, MethodOptions, make_cam
from convviz_gui.engine.models import demo_image_path

from ..squares import SIZE, make_images


@pytest.fixture(scope="module")
def held_out():
    images, _, boxes = make_images(6, seed=321, both=True)
    return images, boxes


@pytest.fixture(scope="module")
def squares_file(squares, tmp_path_factory):
    path = tmp_path_factory.mktemp("rise") / "squares.keras"
    squares.keras_model.save(path)
    return path


def _mass(heatmap: np.ndarray, box: tuple[int, int, int, int]) -> float:
    return float(heatmap[box[1]:box[3], box[0]:box[2]].sum())


def test_rise_puts_its_mass_on_the_explained_square_through_the_cli(
        squares_file, held_out, capsys, tmp_path):
    images, boxes = held_out
    right, shares = [], []
    for number, (image, box) in enumerate(zip(images[:3], boxes)):
        path = tmp_path / f"squares{number}.png"
        Image.fromarray(image).save(path)
        for class_index, (color, other) in enumerate((("red", "blue"), ("blue", "red"))):
            npy = tmp_path / "map.npy"
            assert cli(["gradcam", str(squares_file), str(path), "--method", "rise", "--masks",
                        "500", "--class", str(class_index), "--preprocess", "none",
                        "--heatmap-npy", str(npy), "--json"]) == 0
            data = json.loads(capsys.readouterr().out)
            assert data["method"] == "RISE" and data["resolution"] == "input"
            assert data["heatmap_shape"] == [SIZE, SIZE] and data["layer"] == "input"
            heatmap = np.load(npy)
            right.append(_mass(heatmap, box[color]) > 2 * _mass(heatmap, box[other]))
            shares.append(_mass(heatmap, box[color]) / heatmap.sum())
    assert all(right), right
    # The square is 4 % of the image; RISE's blur (7 px cells) spreads it, still ~10x.
    assert min(shares) > 0.2, shares


def test_rise_with_many_masks_approaches_occlusion(squares, held_out):
    """Both maps are the score's response to hidden pixels, blurred by the size of what is
    hidden (Occlusion's 6 px patch, RISE's 7 px cells), so they agree up to that blur and
    RISE's sampling noise. Measured on these images: correlation 0.68-0.81 with 50 masks,
    0.92-0.95 with 1000 to 3000 (the plateau is the blur's difference); 0.88 leaves room for
    another TensorFlow's rounding, and 50 masks must stay clearly below."""
    images, _ = held_out
    occlusion = make_cam(squares, None, "Occlusion")
    many = make_cam(squares, None, "RISE", options=MethodOptions(masks=2000))
    few = make_cam(squares, None, "RISE", options=MethodOptions(masks=50))
    for image in images[:2].astype(np.float32):
        for class_index in (0, 1):
            reference = occlusion(image[None], class_index).raw.ravel()
            close = np.corrcoef(many(image[None], class_index).raw.ravel(), reference)[0, 1]
            rough = np.corrcoef(few(image[None], class_index).raw.ravel(), reference)[0, 1]
            assert close > 0.88 and close > rough + 0.08, (close, rough)


def test_rise_is_batched_reproducible_and_cancellable(squares, held_out):
    image = held_out[0][:1].astype(np.float32)
    seen = []
    small = make_cam(squares, None, "rise", options=MethodOptions(masks=100, batch_size=16))
    first = small.explain(image, ClassScore(0), progress=seen.append)
    assert [p.done for p in seen] == [*range(16, 100, 16), 100]
    assert seen[-1].stage == "RISE: masked images" and seen[-1].fraction == 1.0
    other_batches = make_cam(squares, None, "rise", options=MethodOptions(masks=100, batch_size=7))
    np.testing.assert_allclose(other_batches(image, 0).raw, first.raw, rtol=1e-4, atol=1e-5)
    with pytest.raises(ExplanationCancelled):
        small.explain(image, ClassScore(0), progress=seen.append, cancelled=lambda: len(seen) > 8)
    assert len(seen) == 9  # stopped at the first batch after the cancel


def test_rise_default_masks_and_cells_follow_the_input_size(squares):
    rise = make_cam(squares, None, "rise")
    assert rise.mask_count(224, 224) == 4000 and rise.mask_count(299, 299) == 4000
    assert rise.mask_count(SIZE, SIZE) == 900 and rise.mask_count(16, 16) == 500
    assert rise.cell_size(224, 224) == (32, 32) and rise.cell_size(SIZE, 30) == (7, 5)
    chosen = make_cam(squares, None, "rise", options=MethodOptions(masks=123, cell=12))
    assert chosen.mask_count(SIZE, SIZE) == 123 and chosen.cell_size(SIZE, 8) == (12, 8)


@pytest.mark.parametrize(("flag", "value", "phrase"), [
    ("--masks", "-5", "argument --masks: must be from 0 to 100000, not -5"),
    ("--p", "2", "argument --p: must be from 0.05 to 0.95, not 2"),
    ("--cell", "x", "argument --cell: must be a whole number, not 'x'"),
])
def test_bad_rise_options_are_one_error_line(capsys, flag, value, phrase):
    with pytest.raises(SystemExit) as exit_:  # argparse's exit, as for every bad flag
        cli(["gradcam", "demo", str(demo_image_path()), "--method", "rise", flag, value])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convviz: error: ") and phrase in lines[0]
