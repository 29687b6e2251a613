"""From a merged ``Summary`` to the plain results: accuracy, precision and recall from the
confusion counts, the channels' top images placed in their images' own pixels."""

from __future__ import annotations

import math

import numpy as np

from convviz_gui.engine.dataset.receptive import Field, input_to_image
from convviz_gui.engine.dataset.results import ChannelTops, TopImage
from convviz_gui.engine.dataset.summary import ChannelTopK


def classification_metrics(confusion: np.ndarray
                           ) -> tuple[float | None, tuple[float | None, ...], tuple[float | None, ...]]:
    """(accuracy, precision per class, recall per class) of a confusion matrix (rows true,
    columns predicted); None where a class was never predicted (precision) or never
    present (recall), accuracy None without images."""
    total = int(confusion.sum())
    correct = np.diag(confusion).astype(np.float64)
    predicted, present = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = tuple(float(c / p) if p else None for c, p in zip(correct, predicted))
    recall = tuple(float(c / t) if t else None for c, t in zip(correct, present))
    return (float(correct.sum() / total) if total else None), precision, recall


def channel_tops(tops: ChannelTopK | None, field: Field, layer: str, input_size: tuple[int, int],
                 fit: str) -> ChannelTops:
    """The top images of every channel with the maximum's place (the centre of its unit's
    receptive field) and that field as a box, in each image's own pixels.

    Args:
        input_size: (width, height) of the model input.
    """
    size = (round(field.size[1]), round(field.size[0]))
    if tops is None:
        return ChannelTops(layer, (), size)
    width = tops.map_size[1]
    channels = []
    for values, images, positions in zip(tops.values, tops.image, tops.position):
        entries = []
        for value, image, position in zip(values, images, positions):
            if image < 0:
                continue
            name, image_size = tops.table[image]
            row, column = divmod(int(position), width)
            centre = input_to_image(*field.centre(row, column), input_size, image_size, fit)
            x0, y0, x1, y1 = field.box(row, column, (input_size[1], input_size[0]))
            left, top = input_to_image(x0, y0, input_size, image_size, fit)
            right, bottom = input_to_image(x1, y1, input_size, image_size, fit)
            box = (max(0, math.floor(left)), max(0, math.floor(top)),
                   min(image_size[0], math.ceil(right)), min(image_size[1], math.ceil(bottom)))
            xy = (min(image_size[0] - 1, max(0, int(centre[0]))),
                  min(image_size[1] - 1, max(0, int(centre[1]))))
            entries.append(TopImage(name, float(value), xy, box, image_size))
        channels.append(tuple(entries))
    return ChannelTops(layer, tuple(channels), size)
