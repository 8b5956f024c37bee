"""Ids used as file names: ``safe_join`` makes sure no id opens a file outside its folder."""
from __future__ import annotations

from pathlib import Path

from .errors import DataError

#: Characters an id must not hold when it names a file (path separators, NUL).
_FORBIDDEN = ("/", "\\", "\x00")


def safe_join(folder: str | Path, name: str, suffix: str = "", what: str = "video id",
              root: str | Path | None = None) -> Path:
    """``folder / (name + suffix)``, refusing a ``name`` that is empty, absolute, ``.``/``..`` or holds a
    separator or NUL, before anything is opened (an id like ``../../x/P01_13`` would read outside ``folder``).
    The file may be a symlink that stays inside ``root`` (default ``folder``; e.g. data_root, so git-annex or
    DVC layouts work); one leaving it is refused as such."""
    text = str(name)
    if not text.strip() or text in (".", "..") or any(c in text for c in _FORBIDDEN) or Path(text).is_absolute():
        raise DataError(f"{what} {text!r} cannot name a file in {folder}: ids must be plain names without path "
                        f"separators, NUL or '..'; fix the id in the annotations.")
    path = Path(folder) / f"{text}{suffix}"
    allowed = {Path(folder).resolve(), Path(root if root is not None else folder).resolve()}
    if not allowed & set(path.resolve().parents):
        if path.is_symlink():
            raise DataError(f"{path} (the file of {what} {text!r}) is a symlink to {path.resolve()}, which leaves "
                            f"{root if root is not None else folder}; files are read only inside it: copy the file "
                            f"in, or point data_root or the folder at the real location.")
        raise DataError(f"{what} {text!r} names {path}, outside {folder}; fix the id in the annotations.")
    return path
