"""The dataset report (issue 24): one self-contained HTML file of a ``DatasetResult``, like
the batch report (images inlined as ``data:`` URIs, the same style sheet and sortable
tables): the accuracy, the confusion matrix with its counts, precision and recall per class,
the most confident mistakes, the strategies per class (each cluster's mean map over its mean
image, possible shortcuts marked with their reason, member thumbnails), the images each
channel loves (cropped to the receptive field of the unit holding the maximum, the maximum
marked), the skipped files and the notes.

Images are read from the scanned folder again (they are not kept in the result); a file
gone since the scan shows as "missing". Bounded for large datasets: at most
``MEMBERS_SHOWN`` members per cluster and ``CHANNELS_SHOWN`` channels are drawn (the JSON
has them all), and a confusion matrix of more than ``TABLE_CLASSES`` classes is an image
plus its most frequent confusions.
"""

from __future__ import annotations

import datetime
import html
import io
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import LoadedImage, load_image
from convviz_gui.figures.colors import colorize, overlay
from convviz_gui.figures.report.base import report_format
from convviz_gui.figures.report.html import data_uri, report_resource
from convviz_gui.figures.text import receptive_field_phrase
from convviz_gui.files import AtomicFile

if TYPE_CHECKING:
    from convviz_gui.engine.dataset.results import Cluster, TopImage
    from convviz_gui.ops.dataset import DatasetResult

THUMB_SIDE = 96  # mistakes
MEMBER_SIDE = 56  # cluster members
CLUSTER_SIDE = 128  # a cluster's mean map over its mean image
CROP_SIDE = 72  # a channel's top image, cropped to the receptive field
MEMBERS_SHOWN = 24
CHANNELS_SHOWN = 256
TABLE_CLASSES = 30  # larger confusion matrices are drawn as an image
CONFUSIONS_LISTED = 25
IMAGES_KEPT = 64  # decoded images kept while the report is written (top images recur)

Pictures = Callable[[str], "LoadedImage | None"]  # relative path -> the image, None when unreadable


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def write_report(result: DatasetResult, path: str | Path) -> str:
    """Write the report of ``result`` to ``path`` (.html or .htm), atomically; returns the
    written path. One sentence (``ConvVizError``) when the path is not an HTML file or
    cannot be written."""
    if report_format(path) != "html":
        raise ConvVizError(f"The dataset report is an HTML file (.html or .htm), not {Path(path).name}.")
    picture = lru_cache(maxsize=IMAGES_KEPT)(lambda name: _read(result.path(name)))
    with AtomicFile(path) as target:
        out = io.TextIOWrapper(target.stream, encoding="utf-8")
        for part in _page(result, picture):
            out.write(part)
        out.flush()
        out.detach()
        return str(target.commit())


def _read(path: str) -> LoadedImage | None:
    """The image at ``path``, or None when it cannot be read any more."""
    try:
        return load_image(path)
    except ConvVizError:
        return None


def _page(result: DatasetResult, picture: Pictures) -> Iterator[str]:
    """The page, part after part."""
    yield (f"<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
           f"<meta name=viewport content='width=device-width,initial-scale=1'>"
           f"<title>ConvViz dataset report: {_e(result.model_name)}</title><style>\n"
           f"{report_resource('report.css')}{report_resource('dataset.css')}</style></head><body>"
           f"<h1>ConvViz dataset report: {_e(result.model_name)}</h1>{_meta(result)}")
    yield _accuracy(result)
    yield _confusion(result)
    yield _per_class(result)
    yield _mistakes(result, picture)
    yield from _strategies(result, picture)
    yield from _channels(result, picture)
    yield _skipped(result)
    yield f"<script>\n{report_resource('sort_table.js')}</script></body></html>\n"


def _meta(result: DatasetResult) -> str:
    lines = [("Folder", result.folder),
             ("Images", f"{result.images} analyzed, {len(result.skipped)} skipped, "
                        f"{result.seconds:.1f} s ({result.engine})"
                        + (", from the cache" if result.cached else "")),
             ("Strategies", f"{result.method} at {result.layer}"),
             ("Channels", f"{result.channels.layer}"),
             ("Written", datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))]
    if result.class_note:
        lines.append(("Classes", result.class_note))
    lines += [("Note", note) for note in result.notes if note != result.class_note]
    return "<p class=meta>" + "<br>".join(f"<b>{_e(name)}:</b> {_e(value)}" for name, value in lines) + "</p>"


def _accuracy(result: DatasetResult) -> str:
    if result.accuracy is None or result.confusion is None:
        return ("<h2>Accuracy</h2><p>The folder has no class subfolders, so there is no accuracy: "
                "the images predicted per class are listed below.</p>")
    labelled = int(result.confusion.sum())
    correct = int(np.trace(result.confusion))
    return (f"<h2>Accuracy</h2><p id=accuracy><b>{result.accuracy:.1%}</b> "
            f"({correct} of {labelled} labelled images predicted as their folder's class)</p>")


def _shade(count: int, total: int) -> str:
    """A cell's style: blue by the share of its row."""
    share = count / total if total else 0.0
    colour = "#fff" if share > 0.55 else "#222"
    return f"background:rgba(33,102,172,{share:.3f});color:{colour}"


def _confusion(result: DatasetResult) -> str:
    matrix = result.confusion
    if matrix is None:
        return ""
    labels = result.classes
    title = ("<h2>Confusion matrix</h2><p class=meta>Rows: true class (the subfolder); columns: "
             "predicted class; counts, shaded by their share of the row.</p>")
    if len(labels) > TABLE_CLASSES:
        return title + _large_confusion(result, matrix)
    head = "".join(f"<th title='{_e(label)}'>{_e(label)}</th>" for label in labels)
    rows = []
    for true, label in enumerate(labels):
        total = int(matrix[true].sum())
        cells = "".join(
            f"<td class='{'diagonal' if true == guess else ''}' style='{_shade(int(count), total)}'>"
            f"{int(count)}</td>" for guess, count in enumerate(matrix[true]))
        rows.append(f"<tr><th>{_e(label)}</th>{cells}<td class=n>{total}</td></tr>")
    return (f"{title}<table class=confusion><thead><tr><th class=corner>true \\ predicted</th>{head}"
            f"<th class=n>images</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _large_confusion(result: DatasetResult, matrix: np.ndarray) -> str:
    """Too many classes for a table: the row-normalized matrix as an image, and the most
    frequent confusions with their counts."""
    totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    rgb = colorize(matrix / totals, "Blues")
    scale = max(1, 600 // len(matrix))
    image = np.asarray(Image.fromarray(rgb).resize((len(matrix) * scale,) * 2, Image.Resampling.NEAREST))
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:CONFUSIONS_LISTED]
    labels = result.classes
    rows = "".join(
        f"<tr><td>{_e(labels[true])}</td><td>{_e(labels[guess])}</td><td class=n>{int(off[true, guess])}</td>"
        f"<td class=n>{off[true, guess] / totals[true, 0]:.1%}</td></tr>"
        for true, guess in zip(*np.unravel_index(order, off.shape)) if off[true, guess] > 0)
    return (f"<figure><img src='{data_uri(image)}' alt='confusion matrix, {len(labels)} classes'>"
            f"<figcaption>{len(labels)} classes in index order (class 0 at the top left), each cell "
            f"shaded by its share of the row (darker: more)</figcaption></figure>"
            f"<h3>Most frequent confusions</h3><table class=sortable><thead><tr><th>true</th>"
            f"<th>predicted</th><th class=n>images</th><th class=n>share of the true class</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _ratio(value: float | None) -> str:
    return "<td class=n data-sort=-1>&ndash;</td>" if value is None else f"<td class=n>{value:.3f}</td>"


def _per_class(result: DatasetResult) -> str:
    """Precision and recall per class (the classes with images, true or predicted); only
    the predicted counts when the folder is not labelled."""
    matrix = result.confusion
    heads = ["index", "class", "predicted"] if matrix is None else \
        ["index", "class", "images", "predicted", "correct", "precision", "recall"]
    rows = []
    for index, label in enumerate(result.classes):
        present = int(matrix[index].sum()) if matrix is not None else 0
        predicted = result.predicted_counts[index]
        if not present and not predicted:
            continue
        cells = f"<td class=n>{index}</td><td>{_e(label)}</td>"
        if matrix is None:
            rows.append(f"<tr>{cells}<td class=n>{predicted}</td></tr>")
            continue
        rows.append(f"<tr>{cells}<td class=n>{present}</td><td class=n>{predicted}</td>"
                    f"<td class=n>{int(matrix[index, index])}</td>{_ratio(result.precision[index])}"
                    f"{_ratio(result.recall[index])}</tr>")
    header = "".join(f"<th{'' if name == 'class' else ' class=n'}>{name}</th>" for name in heads)
    undefined = "" if matrix is None else ("&ndash;: undefined (never predicted, or no image of the "
                                           "class). ")
    return (f"<h2>Per class</h2><p class=meta>Classes with images only. {undefined}Click a column "
            f"header to sort.</p><table class=sortable><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _fitted(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` scaled to ``side`` on its long side: reduced smoothly, small images (a
    28-pixel digit) enlarged with visible pixels."""
    zoom = side / max(rgb.shape[:2])
    size = (max(1, round(rgb.shape[1] * zoom)), max(1, round(rgb.shape[0] * zoom)))
    resample = Image.Resampling.NEAREST if zoom > 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(rgb).resize(size, resample))


def _thumbnail(picture: Pictures, name: str, side: int) -> str:
    loaded = picture(name)
    if loaded is None:
        return f"<span class=missing title='{_e(name)}'>missing</span>"
    return f"<img src='{data_uri(_fitted(loaded.rgb, side))}' alt='{_e(name)}' title='{_e(name)}'>"


def _mistakes(result: DatasetResult, picture: Pictures) -> str:
    if not result.mistakes:
        return "" if result.confusion is None else "<h2>Mistakes</h2><p>None.</p>"
    labels = result.classes
    cards = "".join(
        f"<div class=card>{_thumbnail(picture, item.image, THUMB_SIDE)}<b>{_e(item.image)}</b><br>"
        f"true <b>{_e(labels[item.true])}</b>, predicted <b>{_e(labels[item.predicted])}</b><br>"
        f"score {item.score:.3f} (true class {item.true_score:.3f})</div>" for item in result.mistakes)
    return (f"<h2>Most confident mistakes ({len(result.mistakes)})</h2><p class=meta>Score: the "
            f"model's output for the predicted class.</p><div class=cards>{cards}</div>")


def _cluster_picture(cluster: Cluster) -> str:
    """The mean map over the mean image, the map's peak marked with +."""
    image = np.asarray(Image.fromarray(cluster.mean_image).resize((CLUSTER_SIDE, CLUSTER_SIDE),
                                                                  Image.Resampling.BILINEAR))
    heat = np.asarray(Image.fromarray(cluster.mean_map.astype(np.float32)).resize(
        (CLUSTER_SIDE, CLUSTER_SIDE), Image.Resampling.BILINEAR))
    x, y = cluster.peak_fraction
    return (f"<div class=wrap><img src='{data_uri(overlay(image, heat))}' alt='mean map'>"
            f"<span class=peak style='left:{100 * x:.1f}%;top:{100 * y:.1f}%'>+</span></div>")


def _strategies(result: DatasetResult, picture: Pictures) -> Iterator[str]:
    yield (f"<h2>Strategies per class</h2><p class=meta>{_e(result.method)} maps at {_e(result.layer)} "
           "of each predicted class, clustered (spectral relevance analysis); each cluster: its mean "
           "map over its mean image (+: the peak), then its members. A red frame marks a possible "
           "shortcut.</p>")
    for strategy in result.strategies:
        sampled = f", {strategy.sampled} clustered" if strategy.sampled < strategy.images else ""
        yield f"<h3>{_e(strategy.label)}: {strategy.images} images predicted{sampled}</h3>"
        for cluster in strategy.clusters:
            members = "".join(_thumbnail(picture, name, MEMBER_SIDE)
                              for name in cluster.members[:MEMBERS_SHOWN])
            more = len(cluster.members) - MEMBERS_SHOWN
            if more > 0:
                members += f"<span class=meta>and {more} more</span>"
            yield (f"<div class='strategy{' flagged' if cluster.flagged else ''}'>"
                   f"<figure>{_cluster_picture(cluster)}<figcaption>{len(cluster.members)} images; "
                   f"peak at x={cluster.peak_xy[0]}, y={cluster.peak_xy[1]}</figcaption></figure>"
                   f"<div><p{' class=warning' if cluster.flagged else ''}>{_e(cluster.reason)}</p>"
                   f"<div class=members>{members}</div></div></div>")


def _crop(picture: Pictures, top: TopImage) -> str:
    """The top image cropped to its receptive-field box, enlarged, its maximum marked."""
    loaded = picture(top.image)
    if loaded is None:
        return f"<span class=missing title='{_e(top.image)}'>missing</span>"
    scale = loaded.scale  # file pixels per pixel of the (possibly reduced) copy
    x0, y0, x1, y1 = (int(round(value / scale)) for value in top.box)
    height, width = loaded.rgb.shape[:2]
    x0, y0 = min(x0, width - 1), min(y0, height - 1)
    shown = _fitted(loaded.rgb[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)], CROP_SIDE)
    bx0, by0, bx1, by1 = top.box
    left = 100 * (top.xy[0] + 0.5 - bx0) / max(1, bx1 - bx0)
    down = 100 * (top.xy[1] + 0.5 - by0) / max(1, by1 - by0)
    title = f"{top.image}: maximum at x={top.xy[0]}, y={top.xy[1]}; box {top.box}"
    return (f"<figure><div class=wrap><img src='{data_uri(shown)}' alt='{_e(top.image)}' title='{_e(title)}'>"
            f"<span class=max style='left:{left:.1f}%;top:{down:.1f}%'>+</span></div>"
            f"<figcaption>{top.value:.3g}</figcaption></figure>")


def _channels(result: DatasetResult, picture: Pictures) -> Iterator[str]:
    tops = result.channels
    count = len(tops.top)
    shown = min(count, CHANNELS_SHOWN)
    field = receptive_field_phrase(tops.receptive_field, result.input_size)
    limit = f" The first {shown} of {count} channels are drawn; the JSON has all." if shown < count else ""
    yield (f"<h2>The images each channel loves</h2><p class=meta>{_e(tops.layer)}: per channel, "
           f"the images with the largest maximum, cropped to the receptive field of the unit holding it "
           f"({_e(field)}; + marks the maximum, the caption is its value)."
           f"{limit}</p>")
    for channel, entries in enumerate(tops.top[:shown]):
        if not entries or entries[0].value <= 0:
            yield (f"<div class=channel><b>channel {channel}</b><span class=meta>never above zero in "
                   "these images</span></div>")
            continue
        yield (f"<div class=channel><b>channel {channel}</b>"
               + "".join(_crop(picture, top) for top in entries) + "</div>")


def _skipped(result: DatasetResult) -> str:
    if not result.skipped:
        return ""
    items = "".join(f"<li><b>{_e(name)}</b>: {_e(reason)}</li>" for name, reason in result.skipped)
    return f"<h2>Skipped ({len(result.skipped)})</h2><ul class=skipped>{items}</ul>"
