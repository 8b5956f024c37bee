"""Ids used as file names: a helper every feature plugin uses so that no id can open a file outside its folder.

>>> safe_join("/data/feats", "P01_13", ".npy").as_posix()
'/data/feats/P01_13.npy'
"""
from __future__ import annotations

from pathlib import Path

from .errors import DataError

#: Characters an id must not hold when it names a file (path separators, NUL).
FORBIDDEN = ("/", "\\", "\x00")


def safe_join(folder: str | Path, name: str, suffix: str = "", what: str = "video id") -> Path:
    """``folder / (name + suffix)``, refusing a ``name`` that is empty, absolute, ``.``/``..`` or holds a
    separator or NUL, before anything is opened (an id like ``../../x/P01_13`` would read outside ``folder``)."""
    text = str(name)
    if not text.strip() or text in (".", "..") or any(c in text for c in FORBIDDEN) or Path(text).is_absolute():
        raise DataError(f"{what} {text!r} cannot name a file in {folder}: ids must be plain names without path "
                        f"separators, NUL or '..'; fix the id in the annotations.")
    path = Path(folder) / f"{text}{suffix}"
    if Path(folder).resolve() not in path.resolve().parents:
        raise DataError(f"{what} {text!r} names {path}, outside {folder}; fix the id in the annotations.")
    return path
