"""The model zoo (``tests/zoo.py``) through ConvViz, in process: the zoo's target.

Each zoo model is built once (module-scoped fixture), opened as the CLI opens it, and every
view is checked by ``tests/zoo_checks.py`` (the checks ``bench/zoo_report.py`` tabulates):
it opens, the output kind and default CAM layer are right, predictions come from the
explained output, the activations and filters 0-3 x 10 steps at an acceptable layer work
(the filters rise), Grad-CAM at the default layer is not constant, Occlusion and Saliency
give finite maps. Marked ``zoo``: ``pytest -m "not zoo"`` leaves it out.
"""

from __future__ import annotations

import shutil

import pytest

from .. import zoo_checks as checks
from ..zoo import ZOO

pytestmark = pytest.mark.zoo


@pytest.fixture(scope="module", params=list(ZOO))
def session(request, tmp_path_factory):
    """The zoo model built in its own folder and opened in a fresh workspace."""
    folder = tmp_path_factory.mktemp(request.param)
    opened = checks.Session.open(ZOO[request.param](folder))
    yield opened
    opened.context.workspace.forget()
    shutil.rmtree(folder, ignore_errors=True)  # the Applications weigh 10-220 MB each


def expected_layer(session: checks.Session) -> tuple[str, ...]:
    """The zoo's first acceptable CAM layer (a convolution), so the filters and activations
    are tested apart from the default-layer choice."""
    return session.layer_path(session.zoo.expected.cam_layers[0])


def assert_ok(verdict: checks.Verdict) -> None:
    assert verdict.ok, verdict.cell()


def test_opens(session):
    assert_ok(checks.check_opens(session))


def test_default_cam_layer_and_output_kind(session):
    assert_ok(checks.check_inspect(session))


def test_pixels_fed_in_the_models_range(session):
    if session.zoo.expected.input_range is None:
        pytest.skip("the model file does not say what it expects")
    assert_ok(checks.check_input(session))


def test_predictions_come_from_the_explained_output(session):
    assert_ok(checks.check_predict(session))


def test_activations(session):
    assert_ok(checks.check_activations(session, expected_layer(session)))


def test_four_filters_rise_in_ten_steps(session):
    assert_ok(checks.check_filters(session, expected_layer(session)))


def test_gradcam_at_the_default_layer(session):
    assert_ok(checks.check_gradcam(session))


@pytest.mark.parametrize("check", [checks.check_occlusion, checks.check_saliency],
                         ids=["occlusion", "saliency"])
def test_perturbation_and_pixel_maps(session, check):
    assert_ok(check(session))
