"""Class labels: bundled ImageNet names, sidecar files next to a model, or indices."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.paths import resource


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names in Keras Applications order."""
    return parse_labels_json(resource("imagenet_class_index.json").read_text(encoding="utf-8"))


def parse_labels_json(text: str) -> tuple[str, ...]:
    """Read labels from JSON: a list, ``{"0": "cat"}`` or ``{"0": ["n012", "cat"]}``."""
    data = json.loads(text)
    if isinstance(data, list):
        return tuple(str(item) for item in data)
    if isinstance(data, dict):
        entries = sorted(data.items(), key=lambda kv: int(kv[0]))
        names = []
        for _, value in entries:
            names.append(str(value[-1]) if isinstance(value, list) else str(value))
        return tuple(names)
    raise ConvVizError("The labels JSON must be a list of names or an index-to-name mapping.")


def read_labels_file(path: Path) -> tuple[str, ...]:
    """Labels from a ``.json`` file (list or index mapping) or a text file (one per line)."""
    parse = parse_labels_json if path.suffix.lower() == ".json" else _parse_txt
    try:
        return parse(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ConvVizError(f"Cannot read the labels file {path.name}: {exc}") from exc


def sidecar_labels(model_path: Path) -> tuple[str, ...] | None:
    """Labels from ``<model>.labels.txt`` or ``<model>.labels.json`` if such a file exists."""
    stem = model_path.with_suffix("")
    for suffix in (".labels.txt", ".labels.json"):
        candidate = stem.with_name(stem.name + suffix)
        if candidate.is_file():
            return read_labels_file(candidate)
    return None


def _parse_txt(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def resolve_labels(candidates: tuple[str, ...] | None, class_count: int) -> tuple[str, ...]:
    """Labels matching ``class_count``; falls back to ``class 0 .. class n-1``."""
    if candidates and len(candidates) == class_count:
        return candidates
    return tuple(f"class {index}" for index in range(class_count))
