"""Scans kept on disk: one folder per (model file, folder contents, settings), holding each
finished shard's ``Summary`` and the finished result. An interrupted scan finds its
finished shards and resumes; a finished one is reopened at once. Files are pickles written
by ConvViz itself into the user's own cache folder, each written atomically."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

FORMAT = 1  # bump when a summary or result type changes: old caches are then ignored


def model_digest(source: str) -> str:
    """A digest of a model's file (every file of a SavedModel folder); the source itself for
    models that are not files (``app:NAME:weights``)."""
    path = Path(source)
    digest = hashlib.blake2b(digest_size=16)
    if path.is_file():
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    elif path.is_dir():
        for file in sorted(item for item in path.rglob("*") if item.is_file()):
            digest.update(file.relative_to(path).as_posix().encode())
            digest.update(file.read_bytes())
    else:
        digest.update(source.encode())
    return digest.hexdigest()


def scan_key(model: str, folder: str | Path, settings: str) -> str:
    """The cache key of a scan: the model's digest, ``settings`` (the request, in words),
    and every non-hidden file under ``folder`` with its size and modification time (so a
    changed folder is scanned again). Needs no model: a kept scan reopens at once."""
    digest = hashlib.blake2b(digest_size=16)
    root = Path(os.path.abspath(folder))
    digest.update(f"{FORMAT}\n{model}\n{root}\n{settings}\n".encode())
    for current, subfolders, names in os.walk(root):  # top-down, subfolders sorted in place
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            try:
                stat = Path(current, name).stat()
                digest.update(f"{Path(current, name).relative_to(root).as_posix()}\0{stat.st_size}"
                              f"\0{stat.st_mtime_ns}\n".encode())
            except OSError:
                continue
    return digest.hexdigest()


class ScanCache:
    """The cache folder of one scan (created on the first write)."""

    def __init__(self, root: Path, key: str) -> None:
        self.folder = root / key

    def _read(self, name: str) -> Any:
        try:
            with (self.folder / name).open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 (ConvViz's own files, in the user's cache)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
            return None  # absent, or written by another version: computed again

    def _write(self, name: str, value: Any) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            Path(temporary).replace(self.folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def shard(self, index: int) -> Any:
        """The summary of shard ``index``, or None when it was not finished."""
        return self._read(f"shard-{index:06d}.pkl")

    def save_shard(self, index: int, summary: Any) -> None:
        """Keep the summary of finished shard ``index``."""
        self._write(f"shard-{index:06d}.pkl", summary)

    def result(self) -> Any:
        """The finished result, or None."""
        return self._read("result.pkl")

    def save_result(self, result: Any) -> None:
        """Keep the finished result."""
        self._write("result.pkl", result)
