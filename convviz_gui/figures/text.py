"""Text on figures and in reports: names cut to fit, an explanation's title, a receptive field."""

from __future__ import annotations

from collections.abc import Sequence

from convviz_gui.engine.cam import CamResult

NAME_LIMIT = 60  # characters of a layer path kept in a title (the middle gives way)
LABEL_LIMIT = 40  # characters of a class label kept in a title


def shorten(text: str, limit: int = NAME_LIMIT) -> str:
    """``text``, its middle replaced by "…" when it is longer than ``limit`` characters."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return f"{text[:head]}…{text[len(text) - (limit - 1 - head):]}"


def shorten_path(path: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """A layer path for a title: the layer's own name kept whole where it fits, the model
    names before it cut short (``mobilenetv2_1.00…/block_16_project``)."""
    text = "/".join(path)
    if len(text) <= limit:
        return text
    name = shorten(path[-1], limit)
    room = limit - len(name) - 2
    return f"{text[:room]}…/{name}" if room > 0 else name


def cam_title(cam: CamResult) -> str:
    """"Grad-CAM for 'cat' (0.912; logit 3.1) at block14_sepconv2_act"."""
    target = cam.target or f"'{cam.label}'"
    explained = ""
    if cam.score_kind == "logit" and cam.explained is not None:
        explained = f"; logit {cam.explained:.3g}"
    if cam.relevance_sum is not None:  # LRP: how much of the score the map accounts for
        explained += f"; relevance {cam.relevance_sum:.3g}"
    where = f"at {shorten_path(cam.layer)}" if cam.layer else "at the input"
    return f"{cam.method} for {shorten(target, LABEL_LIMIT)} ({cam.score:.3f}{explained}) {where}"


def receptive_field_phrase(field: tuple[int, int], input_size: tuple[int, int]) -> str:
    """The receptive field in words (width x height of one unit's field, in input pixels),
    saying so when it is larger than the model's input (the crops are then most or all of
    the image; every unit sees all of it once its field spans twice the input)."""
    size = f"{field[0]}x{field[1]} px" if field[0] != field[1] else f"{field[0]} px"
    width, height = input_size
    if field[0] <= width and field[1] <= height:
        return f"receptive field {size}"
    frame = f"{width}x{height} px" if width != height else f"{width} px"
    sees = ("each unit sees the whole image" if field[0] >= 2 * width - 1 and field[1] >= 2 * height - 1
            else "units near its centre see the whole image")
    return f"receptive field {size}: larger than the {frame} input, {sees}"
