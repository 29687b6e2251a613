"""The images of a dataset folder: labelled by subfolder (``FOLDER/<class>/...``, as
``keras.utils.image_dataset_from_directory`` reads it) or flat, with the subfolders matched
to the model's classes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from convviz_gui.engine.errors import ConvVizError
from convviz_gui.engine.images import collect_image_files

UNLABELLED = -1  # the true class of an image of a flat folder


@dataclass(frozen=True)
class DatasetFiles:
    """What a folder holds. ``files``: (path relative to ``root`` with POSIX separators,
    true class index or ``UNLABELLED``), in the folder's order; ``folder_classes``: each
    class subfolder's model class; ``note``: how subfolders were matched ("" by name);
    ``skipped``: (relative path, reason) of what is not analyzed at all."""

    root: str
    files: tuple[tuple[str, int], ...]
    labelled: bool
    folder_classes: tuple[tuple[str, int], ...] = ()
    note: str = ""
    skipped: tuple[tuple[str, str], ...] = ()


def _normal(name: str) -> str:
    return " ".join(name.casefold().replace("_", " ").replace("-", " ").split())


def match_classes(names: list[str], labels: tuple[str, ...]) -> tuple[list[int], str]:
    """Model class index of each subfolder name, and a note ("" when matched by name).

    By name (any case, ``_`` and ``-`` as spaces) when every name is a label; else by
    sorted order (the indices ``image_dataset_from_directory`` gives) when there are as many
    subfolders as classes; else ``ConvVizError``.
    """
    lookup = {_normal(label): index for index, label in enumerate(labels)}
    by_name = [lookup.get(_normal(name)) for name in names]
    if all(index is not None for index in by_name):
        return [int(index) for index in by_name if index is not None], ""
    stranger = next(name for name, index in zip(names, by_name) if index is None)
    if len(names) != len(labels):
        raise ConvVizError(
            f"The {len(names)} class subfolders match neither the model's labels by name "
            f"('{stranger}' is not one of them, e.g. '{labels[0]}') nor its {len(labels)} "
            "classes by count.")
    order = sorted(names)
    pairs = ", ".join(f"{name} -> {labels[i]}" for i, name in enumerate(order[:4]))
    note = (f"The subfolders are not the model's labels ('{stranger}' is not one), so they were "
            f"matched by sorted order: {pairs}{', ...' if len(order) > 4 else ''}.")
    return [order.index(name) for name in names], note


def list_dataset(folder: str | Path, labels: tuple[str, ...]) -> DatasetFiles:
    """The files of ``folder``: labelled when it holds non-hidden subfolders (each a class,
    read recursively; files beside them are skipped), flat otherwise.

    Nothing is filtered by extension: files that are not images are skipped when read.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ConvVizError(f"{folder} is not a folder." if root.exists() else
                           f"The folder {folder} does not exist.")
    root = Path(os.path.abspath(root))
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError as exc:
        raise ConvVizError(f"Cannot read the folder {root}: {exc.strerror or exc}.") from exc
    subfolders = [entry.name for entry in entries if entry.is_dir() and not entry.name.startswith(".")]
    if not subfolders:
        paths, _ = collect_image_files([str(root)])
        files = tuple((_relative(path, root), UNLABELLED) for path in paths)
        return DatasetFiles(str(root), files, labelled=False)
    indices, note = match_classes(subfolders, labels)
    files_list: list[tuple[str, int]] = []
    for name, index in zip(subfolders, indices):
        paths, _ = collect_image_files([str(root / name)], recursive=True)
        files_list += [(_relative(path, root), index) for path in paths]
    loose = tuple((entry.name, "not in a class subfolder (the folder is labelled by subfolder)")
                  for entry in entries if entry.is_file() and not entry.name.startswith("."))
    return DatasetFiles(str(root), tuple(files_list), True, tuple(zip(subfolders, indices)), note,
                        loose)


def _relative(path: str, root: Path) -> str:
    return Path(path).relative_to(root).as_posix()
