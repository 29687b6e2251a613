"""Signed maps: LRP and Integrated Gradients drawn around zero (red for the class, blue
against it) from the CLI, and every non-negative map drawn exactly as before."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from PIL import Image

from convviz_gui.cli import main
from convviz_gui.engine.cam import make_cam, method_class
from convviz_gui.engine.cam.base import resize_map
from convviz_gui.engine.cam.options import MethodOptions
from convviz_gui.engine.models import demo_image_path
from convviz_gui.figures.cam import gradcam_figure, sign_label, signed_limit
from convviz_gui.figures.colors import overlay
from convviz_gui.figures.compare import compare_figure

DEMO_IMAGE = str(demo_image_path())


def run_json(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def red_and_blue(pixels: np.ndarray) -> tuple[int, int]:
    """Pixels of the signed colormap's two ends (strong red, strong blue) in uint8 RGB."""
    r, g, b = (pixels[..., channel].astype(int) for channel in range(3))
    return (int(np.sum((r > 200) & (g < 90) & (b < 90))),
            int(np.sum((b > 200) & (r < 90) & (g < 90))))


def test_cli_signed_lrp_draws_for_and_against_and_says_so(capsys, tmp_path):
    out, raw_file = tmp_path / "signed.png", tmp_path / "raw.npy"
    data = run_json(capsys, "gradcam", "demo", DEMO_IMAGE, "--method", "lrp-epsilon",
                    "--sign", "signed", "--out", str(out), "--heatmap-npy", str(raw_file),
                    "--unnormalized")
    assert data["sign"] == "signed" and data["method"] == "LRP-epsilon"
    raw = np.load(raw_file)
    assert np.mean(raw > 0) > 0.05 and np.mean(raw < 0) > 0.05  # both signs, really
    pixels = np.asarray(Image.open(out).convert("RGB"))
    width = pixels.shape[1]
    # The overlay panel (right third) and the map with its colorbar (middle third) each
    # show both ends of the scale; the photo (left third) shows neither.
    for panel in (pixels[:, 2 * width // 3:], pixels[:, width // 3:2 * width // 3]):
        red, blue = red_and_blue(panel)
        assert red > 200 and blue > 200, (red, blue)
    assert red_and_blue(pixels[:, :width // 3]) == (0, 0)


def test_signed_only_for_methods_whose_sign_means_something(capsys):
    assert run_json(capsys, "gradcam", "demo", DEMO_IMAGE)["sign"] == "positive"
    assert main(["gradcam", "demo", DEMO_IMAGE, "--sign", "signed"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("convviz: error: Grad-CAM's map has no sign") and "\n" not in err
    assert "lrp-epsilon" in err and "integrated-gradients" in err
    defaults = {key: method_class(key).sign_default for key in (
        "lrp", "lrp-epsilon", "lrp-alphabeta", "lrp-gamma", "integrated-gradients",
        "occlusion", "rise", "gradcam", "eigencam", "saliency", "scorecam")}
    assert defaults == {"lrp": "signed", "lrp-epsilon": "signed", "lrp-alphabeta": "signed",
                        "lrp-gamma": "signed", "integrated-gradients": "signed",
                        "occlusion": "positive", "rise": "positive", "gradcam": "",
                        "eigencam": "", "saliency": "", "scorecam": ""}


@pytest.mark.parametrize("method,options", [
    ("Grad-CAM", MethodOptions()),  # never negative: no sign option
    ("Saliency", MethodOptions(sign="signed")),  # an option it does not read is ignored
    ("LRP-epsilon", MethodOptions(sign="positive")),  # a signed method, asked positive
])
def test_positive_maps_are_drawn_as_before(demo_model, demo_image, method, options):
    """The reference drawing: the 0-1 heatmap in the chosen colormap beside
    ``overlay(image, upsampled heatmap)``, labelled "importance"."""
    batch = demo_model.prepare(demo_image)
    cam = make_cam(demo_model, None, method, options=options)(batch, 3)
    assert cam.sign == "positive" and not cam.signed
    figure = gradcam_figure(demo_image.rgb, cam, alpha=0.4, cmap="jet")
    heat, drawn = figure.axes[1].images[0], figure.axes[2].images[0]
    height, width = demo_image.rgb.shape[:2]
    expected = overlay(demo_image.rgb, np.clip(resize_map(cam.heatmap, width, height), 0, 1),
                       0.4, "jet")
    assert np.array_equal(drawn.get_array(), expected)
    assert np.array_equal(heat.get_array(), cam.heatmap)
    assert heat.get_cmap().name == "jet" and heat.get_clim() == (0, 1)
    assert [child.get_ylabel() for child in figure.axes[1].child_axes] == ["importance"]
    assert figure.axes[2].texts[0].get_text() == "+ peak (most important)"


def test_signed_scale_is_symmetric_robust_and_labelled(demo_model, demo_image):
    batch = demo_model.prepare(demo_image)
    cam = make_cam(demo_model, None, "Integrated Gradients",
                   options=MethodOptions(steps=8))(batch, 3)  # sign "auto": its default
    assert cam.signed and cam.raw.min() < 0 < cam.raw.max()
    limit = signed_limit(cam.raw)
    magnitude = np.abs(cam.raw[cam.raw != 0])
    assert 0 < limit < magnitude.max() and np.mean(magnitude > limit) == pytest.approx(0.01, abs=0.005)
    figure = gradcam_figure(demo_image.rgb, cam)
    heat = figure.axes[1].images[0]
    assert heat.get_cmap().name == "bwr" and heat.norm.vmin == -heat.norm.vmax == -1.0
    bar = figure.axes[1].child_axes[0]
    assert bar.get_ylabel() == "against ← 0 → for 'happy'" == sign_label(cam)
    assert list(bar.get_yticks()) == [-1.0, 0.0, 1.0]
    absolute = gradcam_figure(demo_image.rgb, cam, normalize=False)
    assert absolute.axes[1].images[0].norm.vmax == pytest.approx(limit)
    assert "(logit)" in absolute.axes[1].child_axes[0].get_ylabel()


def test_compare_grid_draws_a_signed_row_on_one_symmetric_scale(demo_model, demo_image):
    """Compare methods: the Grad-CAM row as before (0-1, jet), the LRP row signed, both
    classes on the row's one scale."""
    batch = demo_model.prepare(demo_image)
    cells = [[(make_cam(demo_model, None, method)(batch, index), None) for index in (3, 6)]
             for method in ("Grad-CAM", "LRP-epsilon")]
    figure = compare_figure(demo_image.rgb, ["Grad-CAM", "LRP-epsilon"], ["happy", "neutral"],
                            cells)
    positive_bar, signed_bar = figure.axes[1].child_axes[0], figure.axes[3].child_axes[0]
    assert positive_bar.get_ylabel() == "row scale 0-1"
    assert positive_bar.collections[-1].get_cmap().name == "jet"  # the solids
    assert signed_bar.get_ylabel() == "against ← 0 → for\n(row scale -1 to 1)"
    assert signed_bar.collections[-1].get_cmap().name == "bwr"
    assert signed_bar.get_ylim() == (-1.0, 1.0)
    happy, neutral = (red_and_blue(ax.images[0].get_array()) for ax in figure.axes[2:4])
    assert min(happy) > 100 and min(neutral) > 10, (happy, neutral)


def test_a_map_all_against_the_class_is_drawn_blue_when_signed(demo_model, demo_image):
    """Drawn positive, a map that is negative everywhere is zero (and says how to see it);
    drawn signed it is all blue, never the "map is zero" box."""
    batch = demo_model.prepare(demo_image)
    cam = make_cam(demo_model, None, "LRP-epsilon")(batch, 3)
    against = dataclasses.replace(cam, raw=-np.abs(cam.raw) - 1e-3,
                                  heatmap=np.zeros_like(cam.heatmap))
    assert against.zero_map == "" and "Sign: signed" in dataclasses.replace(
        against, sign="positive").zero_map
    figure = gradcam_figure(demo_image.rgb, against)
    red, blue = red_and_blue(figure.axes[2].images[0].get_array())
    assert red == 0 and blue > 100 and not figure.axes[1].texts
