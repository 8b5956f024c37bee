"""The one checkpoint trust gate (``load_checkpoint``): weights are read with ``torch.load(weights_only=True)``, other
pickled Python objects only with an explicit ``trust`` (unpickling can run any code), never silently."""
from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import DataError


class UntrustedCheckpointError(DataError):
    """A checkpoint needs full unpickling, which may run arbitrary code."""


#: Modules of names every torch checkpoint pickles; the example a refusal names is taken from outside them.
_COMMON_MODULES = ("torch", "collections", "builtins", "_codecs")


def check_checkpoint_file(path: str | Path) -> Path:
    """``path`` as a Path if it is a non-empty file; else one sentence saying what it is (callers check this before
    they create anything)."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"Checkpoint {path} is a folder, not a checkpoint file; pass the checkpoint file in it.")
    if not path.is_file():
        raise DataError(f"Checkpoint {path} does not exist; check the path.{_download_hint(path)}")
    if path.stat().st_size == 0:
        raise DataError(f"Checkpoint {path} is empty (0 bytes); a write was interrupted or the copy failed.")
    return path


def _download_hint(path: Path) -> str:
    """How to fetch a missing file that a zoo entry releases under the same name (else nothing)."""
    from .plugin_manager import plugin_manager  # here, not at import: the plugins register the released weights
    from .registries import WEIGHTS
    plugin_manager()
    name = next((n for n, w in WEIGHTS.module_dict.items() if w.filename == path.name and w.url), None)
    return f" It is the released '{name}' weights file: `tim-bench download {name}` fetches it into the zoo " \
        f"cache (`tim-bench zoo {name}` prints where); point the config there." if name else ""


def load_checkpoint(path: str | Path, *, how_to_trust: str, trust: bool = False,
                    allow: Iterable[type] = ()) -> dict[str, Any]:
    """The dict a checkpoint file holds, read with ``weights_only=True`` plus the ``allow`` classes (a known format's
    plain extras, e.g. VideoMAE's ``argparse.Namespace``); with ``trust=True`` a file pickling other objects is
    unpickled in full. ``how_to_trust`` ends the refusal: "if you trust where it came from, {how_to_trust}"."""
    import torch
    path = check_checkpoint_file(path)
    allowed = list(allow)
    try:
        with torch.serialization.safe_globals(allowed):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        objects = [n for n in pickled_globals(path) if n not in {f"{c.__module__}.{c.__qualname__}" for c in allowed}]
        if not objects:
            raise _unreadable(path, exc) from exc
        if not trust:
            example = next((n for n in objects if n.split(".")[0] not in _COMMON_MODULES), objects[0])
            raise UntrustedCheckpointError(
                f"{path} holds pickled Python objects besides weights (e.g. {example}), so it cannot be loaded safely "
                f"(unpickling them can run any code); if you trust where it came from, {how_to_trust}.") from exc
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as full_exc:  # noqa: BLE001 - arbitrary unpickling fails in arbitrary ways
            raise _unreadable(path, full_exc) from full_exc
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, KeyError... for broken files
        raise _unreadable(path, exc) from exc
    if not isinstance(ckpt, dict):
        raise DataError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict of weights.")
    return ckpt


def _unreadable(path: Path, exc: BaseException) -> DataError:
    """The refusal of a file torch cannot read at all, with the first line of torch's reason."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if isinstance(exc, pickle.UnpicklingError):
        first = "no whole pickle of weights in it"  # torch's text would suggest unsafe loading, which cannot help
    return DataError(f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {first}); it is truncated, "
                     f"corrupt or another format: copy or download it again, or pass another file.")


def pickled_globals(path: Path) -> list[str]:
    """Python names (``module.name``) beyond plain weights that the pickle in ``path`` would import; empty for a
    file that is no pickle at all (garbage, truncated), which no flag can make loadable. A zip checkpoint is read
    by torch's own scan; the legacy (non-zip) format, which torch's scan does not read, by ``_legacy_globals``."""
    import torch
    if zipfile.is_zipfile(path):
        try:
            return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except Exception:  # noqa: BLE001 - a broken archive fails in torch's reader in many ways; all mean "no pickle"
            return []
    try:
        return _legacy_globals(path.read_bytes())
    except OSError:
        return []


def _legacy_globals(data: bytes) -> list[str]:
    """Every name the pickles of a legacy torch checkpoint import (several pickles in a row, then raw storages);
    empty when not even one whole pickle is there."""
    found: list[str] = []
    stream, done = io.BytesIO(data), 0
    while stream.tell() < len(data):
        try:
            strings: list[str] = []
            for op, arg, _ in pickletools.genops(stream):
                if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings.append(str(arg))
                elif op.name == "GLOBAL":
                    found.append(str(arg).replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
            done += 1
        except (ValueError, IndexError, EOFError, UnicodeDecodeError):
            if done == 0:
                return []  # not even one whole pickle: garbage
            break
    return found
