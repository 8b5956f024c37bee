"""The checkpoint trust gate: ``torch.load(weights_only=True)`` (tensors, numbers, strings, lists and dicts), and
full unpickling of a file that pickles Python objects only with the explicit ``trust`` flag, never silently.

Released original TIM checkpoints pickle Python objects (meters, timers); a fixture or checkpoint anyone hands
to tim-bench goes through here.
"""
from __future__ import annotations

import io
import pickle
import pickletools
import zipfile
from pathlib import Path
from typing import Any

import torch

from tim_bench_registry import TimBenchError


class UntrustedCheckpointError(TimBenchError):
    """A checkpoint needs full unpickling, which may run arbitrary code."""


def check_checkpoint_file(path: str | Path) -> Path:
    """``path`` as a Path if it is a non-empty file; else one sentence saying what it is (checked before a
    command creates anything)."""
    path = Path(path)
    if path.is_dir():
        raise TimBenchError(f"Checkpoint {path} is a folder, not a checkpoint file; pass the .pth file in it.")
    if not path.is_file():
        raise TimBenchError(f"Checkpoint {path} does not exist.")
    if path.stat().st_size == 0:
        raise TimBenchError(f"Checkpoint {path} is empty (0 bytes); a write was interrupted or the copy failed.")
    return path


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """Load a checkpoint safely; with ``trust=True`` allow full unpickling (only for files you trust)."""
    path = check_checkpoint_file(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        objects = pickled_globals(path)
        if not objects:
            raise _unreadable(path, exc) from exc
        if not trust:
            raise UntrustedCheckpointError(
                f"{path} holds pickled Python objects besides weights (e.g. {_example(objects)}; the original TIM saves "
                f"its meters), so it cannot be loaded safely; if you trust where it came from, pass "
                f"--trust-checkpoint.") from exc
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as full_exc:  # noqa: BLE001 - arbitrary unpickling fails in arbitrary ways
            raise _unreadable(path, full_exc) from full_exc
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, EOFError, KeyError... for broken files
        raise _unreadable(path, exc) from exc
    if not isinstance(ckpt, dict):
        raise TimBenchError(f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict of weights.")
    return ckpt


def _unreadable(path: Path, exc: BaseException) -> TimBenchError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if isinstance(exc, pickle.UnpicklingError):
        first = "no whole pickle of weights in it"  # torch's text would suggest unsafe loading, which cannot help
    return TimBenchError(f"{path} is not a readable torch checkpoint ({type(exc).__name__}: {first}); it may be "
                         f"truncated, corrupt or another format. Use the best.pth/last.pth a run wrote or an "
                         f"original TIM .pth.tar.")


#: Modules of names every torch checkpoint pickles; the example a message names is taken from outside them.
COMMON_MODULES = ("torch", "collections", "builtins", "_codecs")


def _example(names: list[str]) -> str:
    return next((n for n in names if n.split(".")[0] not in COMMON_MODULES), names[0])


def pickled_globals(path: Path) -> list[str]:
    """Python names (``module.name``) beyond plain weights that the pickle in ``path`` would import; empty for a
    file that is no pickle at all (garbage, truncated), which no flag can make loadable. A zip checkpoint is read
    by torch's own scan; the legacy (non-zip) format, which torch's scan does not read, by ``legacy_globals``."""
    if zipfile.is_zipfile(path):
        try:
            return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        except Exception:  # noqa: BLE001 - a broken archive fails in torch's reader in many ways; all mean "no pickle"
            return []
    try:
        return legacy_globals(path.read_bytes())
    except OSError:
        return []


def legacy_globals(data: bytes) -> list[str]:
    """Every name the pickles of a legacy torch checkpoint import (several pickles in a row, then raw storages);
    empty when not even one whole pickle is there."""
    found: list[str] = []
    stream, done = io.BytesIO(data), 0
    while stream.tell() < len(data):
        try:
            strings: list[str] = []
            for op, arg, _ in pickletools.genops(stream):
                if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings.append(arg)
                elif op.name == "GLOBAL":
                    found.append(arg.replace(" ", "."))
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.append(f"{strings[-2]}.{strings[-1]}")
            done += 1
        except (ValueError, IndexError, EOFError, UnicodeDecodeError):
            if done == 0:
                return []  # not even one whole pickle: garbage
            break
    return found
