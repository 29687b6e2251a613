"""A model file's sidecar settings: ``<model>.convviz.json`` and ``<model>.labels.txt``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from convviz_gui.engine.errors import ConvVizError


def settings_file(model_path: Path) -> Path:
    """The sidecar ``<model>.convviz.json`` next to a model file."""
    return model_path.with_name(model_path.with_suffix("").name + ".convviz.json")


def read_model_settings(path: Path) -> dict[str, Any]:
    """The sidecar settings of the model file ``path`` ({} when it has none)."""
    candidate = settings_file(path)
    if not candidate.is_file():
        return {}
    try:
        return json.loads(candidate.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConvVizError(f"Cannot read the settings file {candidate.name}: {exc}") from exc


def save_model_settings(model_path: str | Path, class_count: int, preset: str,
                        labels_source: str | None = None, input_size: int | None = None
                        ) -> list[Path]:
    """Write the sidecar files ConvViz reads when it opens the model.

    Args:
        model_path: the model file.
        class_count: the model's outputs (a labels file must name exactly that many).
        preset: preprocessing preset stored in ``<model>.convviz.json``.
        labels_source: a ``.txt`` (one per line) or ``.json`` labels file copied to
            ``<model>.labels.txt``; None keeps the current labels.
        input_size: pixels fed to a model that accepts any size; None keeps the default.

    Returns:
        The files written.
    """
    from convviz_gui.engine.labels import read_labels_file

    path = Path(model_path)
    written = []
    labels = read_labels_file(Path(labels_source)) if labels_source else None
    if labels_source and labels is not None and len(labels) != class_count:
        raise ConvVizError(f"{Path(labels_source).name} names {len(labels)} classes; "
                           f"the model has {class_count} outputs.")
    settings = read_model_settings(path)
    settings["preprocess"] = preset
    if input_size is not None:
        if not 8 <= input_size <= 4096:
            raise ConvVizError("The input size must be between 8 and 4096 pixels.")
        settings["input_size"] = int(input_size)
    written.append(write_model_settings(path, settings))
    try:
        if labels is not None:
            target = path.with_name(path.with_suffix("").name + ".labels.txt")
            target.write_text("\n".join(labels) + "\n", encoding="utf-8")
            written.append(target)
    except OSError as exc:
        raise ConvVizError(f"Cannot write the settings next to {path.name}: "
                           f"{exc.strerror or exc}.") from exc
    return written


def write_model_settings(model_path: Path, settings: dict[str, Any]) -> Path:
    """Write ``settings`` to the model file's sidecar; returns the file written."""
    target = settings_file(model_path)
    try:
        target.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConvVizError(f"Cannot write the settings next to {model_path.name}: "
                           f"{exc.strerror or exc}.") from exc
    return target

