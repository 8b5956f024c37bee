"""Where a command may write: never onto one of its inputs, and never into a folder tim-bench did not make.

Every folder tim-bench creates as output (synthetic datasets, run folders, feature folders, leaderboard folders,
plugin packages) holds ``MARKER``, naming what kind of output it is. A command writes into a non-empty folder only
when that folder holds the marker of its kind (or, for folders written before the marker existed, a file only that
kind of output has); no flag overrides this, so a real dataset or a source tree is never overwritten.

>>> from tim_bench.outputs import check_output_folder, mark_output_folder
>>> folder = check_output_folder("/tmp/new_synthetic", "synthetic dataset")  # doctest: +SKIP
>>> mark_output_folder(folder, "synthetic dataset")  # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from tim_bench_registry import TimBenchError
from tim_bench_registry.files import write_json

#: The file that marks a folder as written by tim-bench, holding {"kind": ..., "written_by": "tim-bench"}.
MARKER = ".tim-bench-output.json"

PathLike = str | Path


def _resolved(path: PathLike) -> Path:
    return Path(os.path.abspath(path)).resolve()


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name one file or folder (through symlinks, ``..`` and hard links)."""
    if _resolved(a) == _resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(path: PathLike, folder: PathLike) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (after resolving symlinks)."""
    return _resolved(path).is_relative_to(_resolved(folder))


def _inputs(inputs: Iterable[PathLike | None]) -> list[Path]:
    return [Path(p) for p in inputs if p is not None and str(p) not in ("", "-")]


def check_output_file(out: PathLike, inputs: Iterable[PathLike | None] = (), *, force: bool = False,
                      option: str = "--out", example: str = "out.zip") -> Path:
    """Refuse an output file that is (or resolves to) an input or lies inside an input folder, that is a folder, or
    that exists without ``force``; return it as a Path. The input clash is refused whatever ``force`` says."""
    out = Path(out)
    for source in _inputs(inputs):
        if same_file(out, source) or (source.is_dir() and _inside(out, source)):
            what = "is" if same_file(out, source) else "lies inside"
            raise TimBenchError(f"{option} {out} {what} the input {source}: writing it would destroy that input, and "
                                f"no flag allows it; choose another output path.")
    if out.is_dir():
        raise TimBenchError(f"{option} {out} is a folder; give the path of a file to write (e.g. {out / example}).")
    if (out.exists() or out.is_symlink()) and not force:
        raise TimBenchError(f"{option} {out} already exists; pass --force to overwrite it, or choose another path.")
    return out


def marker_kind(folder: PathLike) -> str | None:
    """The kind of output ``folder``'s marker names, None without a (readable) marker."""
    try:
        kind = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) else None


def check_output_folder(folder: PathLike, kind: str, inputs: Iterable[PathLike | None] = (), *,
                        option: str = "output folder", also_marked_by: Iterable[str] = ()) -> Path:
    """Refuse an output folder that is a file, that is or holds an input, or that is not empty and is not a
    tim-bench ``kind`` output (its marker, or one of the ``also_marked_by`` glob patterns of older outputs).
    Whatever flag a command has (--force, --overwrite) does not override this. Returns it as a Path."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise TimBenchError(f"{option} {folder} is a file, not a folder; give the path of a new (or empty) folder "
                            f"for the {kind}.")
    for source in _inputs(inputs):
        if _inside(source, folder):
            what = "is" if same_file(folder, source) else "holds"
            raise TimBenchError(f"{option} {folder} {what} the input {source}: writing the {kind} there could "
                                f"overwrite it, and no flag allows it; choose another folder.")
    if folder.is_dir() and any(folder.iterdir()):
        found = marker_kind(folder)
        legacy = any(any(folder.glob(pattern)) for pattern in also_marked_by)
        if found is None and not legacy:
            raise TimBenchError(f"{option} {folder} is not empty and is not a tim-bench output (it has no {MARKER}), "
                                f"so writing the {kind} there could overwrite files that are not tim-bench's; no flag "
                                f"allows it. Choose a new or empty folder.")
        if found is not None and found != kind:
            raise TimBenchError(f"{option} {folder} holds a tim-bench {found}, not a {kind}; choose a new or empty "
                                f"folder for the {kind}.")
    return folder


def mark_output_folder(folder: PathLike, kind: str) -> Path:
    """Create ``folder`` if needed and mark it as a tim-bench ``kind`` output (kept when already marked)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if marker_kind(folder) != kind:
        write_json(folder / MARKER, {"kind": kind, "written_by": "tim-bench"})
    return folder
