"""Fetch released weights into the per-user cache, resuming, atomically, and verified before first use.

A file is used only after it passed: its sha256 (or torch.hub's sha256 prefix) where the zoo knows one, and a
strict load (``torch.load(weights_only=True)``) whose state dict must have exactly the keys, shapes and dtypes
of the entry's manifest. A file that fails is named and removed. The cache is ``$TIM_BENCH_ZOO``, else
``zoo`` in the per-user cache folder (``~/.cache/tim-bench/zoo`` on Linux). ``$TIM_BENCH_ZOO_MIRROR`` is a
base URL that replaces every origin (``MIRROR/<file name>``), as ``HF_ENDPOINT`` does for the Hugging Face hub.
"""
from __future__ import annotations

import csv
import importlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tim_bench_registry import WEIGHTS, TimBenchError, Weights, lookup, plugin_manager

from ..io import sha256_file, write_atomic
from ..user_dirs import user_cache_dir

CACHE_ENV = "TIM_BENCH_ZOO"
MIRROR_ENV = "TIM_BENCH_ZOO_MIRROR"
#: a verified file's record beside it: its sha256, so a later use checks the bytes without loading them again
VERIFIED_SUFFIX = ".verified.json"
PART_SUFFIX = ".part"
log = logging.getLogger("tim_bench")


class ZooError(TimBenchError):
    """A zoo name, download or downloaded file that cannot be used."""


@dataclass(frozen=True)
class Fetched:
    """A verified file in the cache and the sha256 of its bytes (what a run record stores)."""

    name: str
    path: Path
    sha256: str


def cache_dir() -> Path:
    """``$TIM_BENCH_ZOO``, else ``zoo`` in the per-user cache folder; never relative to the current directory."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser().absolute()
    return user_cache_dir() / "zoo"


def weights(name: str) -> Weights:
    """The zoo entry ``name``; an unknown name lists the known ones."""
    return lookup(WEIGHTS, name)


def url_of(entry: Weights) -> str:
    """Where ``entry`` is fetched from: the mirror's copy when ``$TIM_BENCH_ZOO_MIRROR`` is set, else its origin."""
    mirror = os.environ.get(MIRROR_ENV, "").strip()
    if mirror:
        return f"{mirror.rstrip('/')}/{entry.filename}"
    if entry.url is None:
        raise ZooError(f"No download address is known for {entry.name} ({entry.filename}); get it from "
                       f"{entry.source} and put it at {cache_dir() / entry.filename} (it is verified on first use), "
                       f"or set {MIRROR_ENV} to a server that holds it.")
    return entry.url


def is_cached(entry: Weights) -> bool:
    """Whether ``entry``'s file is in the cache (verified or not yet)."""
    return (cache_dir() / entry.filename).is_file()


def fetch(name: str, progress: bool | None = None) -> Fetched:
    """The verified cached file of zoo entry ``name``, downloading it first when it is not cached."""
    entry = weights(name)
    target = cache_dir() / entry.filename
    if not target.is_file():
        _download(entry, target, sys.stderr.isatty() if progress is None else progress)
    return Fetched(name, target, verified_sha256(entry, target))


def _download(entry: Weights, target: Path, progress: bool) -> None:
    import pooch
    url = url_of(entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s to %s", entry.name, url, target)
    known = f"sha256:{entry.sha256}" if entry.sha256 else None
    pooch.get_logger().setLevel(logging.WARNING)  # its "use this hash as known_hash" advice is for developers
    try:
        # pooch moves the downloader's temporary file into place only after our checks and its hash check passed
        pooch.retrieve(url, known_hash=known, fname=target.name, path=target.parent,
                       downloader=ResumingDownloader(entry, target.with_name(target.name + PART_SUFFIX), progress))
    except ValueError as exc:  # pooch's hash mismatch; its temporary file is already removed
        raise ZooError(f"{url} is not the released {entry.name}: {exc}") from None
    except OSError as exc:
        raise ZooError(f"Could not download {entry.name} from {url} ({exc}); run the command again to resume, or "
                       f"set {MIRROR_ENV} to a reachable copy.") from None


class ResumingDownloader:
    """A pooch downloader that keeps the bytes received so far in ``part`` and asks only for the rest (an HTTP
    Range request) on the next try; the complete file is verified before pooch moves it into place."""

    def __init__(self, entry: Weights, part: Path, progress: bool) -> None:
        self.entry, self.part, self.progress = entry, part, progress

    def __call__(self, url: str, output_file: str, pooch_instance: Any) -> None:
        import requests
        have = self.part.stat().st_size if self.part.is_file() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with requests.get(url, headers=headers, stream=True, timeout=60) as response:
                if response.status_code == 416:  # nothing left to send: the part file is whole
                    response.close()
                else:
                    response.raise_for_status()
                    resumed = have > 0 and response.status_code == 206
                    if have and not resumed:
                        log.info("%s: the server does not resume; downloading from the start", url)
                    self._write(response, "ab" if resumed else "wb", have if resumed else 0)
        except requests.RequestException as exc:
            raise OSError(f"{type(exc).__name__}: {exc}; {self._kept()}") from None
        try:
            check_file(self.entry, self.part, url)
        except ZooError:
            self.part.unlink(missing_ok=True)
            raise
        os.replace(self.part, output_file)

    def _write(self, response: Any, mode: str, start: int) -> None:
        expected = response.headers.get("Content-Length")
        written = 0
        bar = None
        if self.progress:
            from tqdm import tqdm
            bar = tqdm(total=int(expected) + start if expected else None, initial=start, unit="B", unit_scale=True,
                       desc=self.entry.filename, file=sys.stderr)
        with open(self.part, mode) as f:
            for chunk in response.iter_content(1 << 20):
                f.write(chunk)
                written += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
        if expected is not None and written != int(expected):
            raise OSError(f"the connection ended after {written} of {expected} bytes; {self._kept()}")

    def _kept(self) -> str:
        size = self.part.stat().st_size if self.part.is_file() else 0
        return f"{size} bytes are kept in {self.part} and the next try resumes there"


def verified_sha256(entry: Weights, path: Path) -> str:
    """The sha256 of ``path``, once it passed ``check_file`` (checked again whenever its bytes change); a file
    that fails is removed."""
    digest = sha256_file(path)
    stamp = path.with_name(path.name + VERIFIED_SUFFIX)
    try:
        if json.loads(stamp.read_text()).get("sha256") == digest:
            return digest
    except (OSError, ValueError, AttributeError):
        pass
    try:
        check_file(entry, path, str(path), digest)
    except ZooError:
        path.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        raise
    write_atomic(stamp, lambda tmp: tmp.write_text(json.dumps({"name": entry.name, "sha256": digest}) + "\n"))
    return digest


def check_file(entry: Weights, path: Path, origin: str, digest: str | None = None) -> None:
    """Raise ZooError (naming ``origin``) unless ``path`` has ``entry``'s sha256 and loads strictly with
    ``weights_only`` into exactly the keys, shapes and dtypes of its manifest."""
    digest = digest or sha256_file(path)
    removed = "; the file was removed, nothing used it"
    if entry.sha256 and digest != entry.sha256:
        raise ZooError(f"{origin} is not the released {entry.name}: its sha256 is {digest}, the release's "
                       f"{entry.sha256}{removed}.")
    if entry.sha256_prefix and not digest.startswith(entry.sha256_prefix):
        raise ZooError(f"{origin} is not the released {entry.name}: its sha256 {digest[:16]}... does not start with "
                       f"{entry.sha256_prefix}, the digits its file name carries{removed}.")
    problems = manifest_problems(entry, state_dict_in(entry, path, origin))
    if problems:
        raise ZooError(f"{origin} does not match the {entry.name} manifest {'/'.join(entry.manifest)} "
                       f"({len(problems)} differences: {'; '.join(problems[:5])}{' ...' if len(problems) > 5 else ''})"
                       f": it is truncated, another model, or not the release{removed}.")


def state_dict_in(entry: Weights, path: Path, origin: str) -> dict[str, Any]:
    """The state dict in ``path``, read with ``weights_only=True`` (only ``entry.allow`` classes besides tensors),
    unwrapped by ``entry.nested``, flattened by ``entry.flatten``, without DataParallel's ``module.`` prefix."""
    import torch
    allowed = [getattr(importlib.import_module(n.rpartition(".")[0]), n.rpartition(".")[2]) for n in entry.allow]
    try:
        with torch.serialization.safe_globals(allowed):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle and EOF errors all mean: not a complete, plain checkpoint
        raise ZooError(f"{origin} cannot be loaded with torch.load(weights_only=True) ({type(exc).__name__}: "
                       f"{str(exc).split('. ')[0].splitlines()[0] if str(exc) else 'no detail'}): it is truncated or holds pickled "
                       f"objects besides weights; the file was removed, nothing used it.") from None
    for key in entry.nested:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if entry.flatten and isinstance(state, dict):
        state = {f"{part}.{k}": v for part in entry.flatten for k, v in (state.get(part) or {}).items()}
    if not isinstance(state, dict):
        raise ZooError(f"{origin} holds a {type(state).__name__}, not a state dict; the file was removed.")
    return {str(k).removeprefix("module."): v for k, v in state.items()}


def read_manifest(entry: Weights) -> dict[str, tuple[tuple[int, ...], str]]:
    """key -> (shape, dtype) of ``entry``'s manifest TSV (package data of the plugin that registered it)."""
    package, name = entry.manifest
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {r["key"]: (tuple(int(s) for s in r["shape"].split("x")) if r["shape"] not in ("", "-") else (),
                       r.get("dtype") or "float32") for r in rows}


def manifest_problems(entry: Weights, state: dict[str, Any]) -> list[str]:
    """Every missing, unexpected, mis-shaped or mis-typed key of ``state`` against ``entry``'s manifest."""
    expected = read_manifest(entry)
    problems = [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in expected]
    for key, (shape, dtype) in expected.items():
        value = state.get(key)
        if value is None:
            continue
        if not hasattr(value, "shape"):
            problems.append(f"{key} is a {type(value).__name__}, not a tensor")
            continue
        allowed = (shape, *entry.alternatives.get(key, ()))
        if tuple(value.shape) not in allowed:
            problems.append(f"{key}: {tuple(value.shape)} instead of {' or '.join(map(str, allowed))}")
        if str(value.dtype).removeprefix("torch.") != dtype:
            problems.append(f"{key}: {str(value.dtype).removeprefix('torch.')} instead of {dtype}")
    return problems


def resolve_checkpoint(value: str | Path) -> tuple[Path, str | None]:
    """(path, zoo name or None) of a checkpoint argument: an existing file as given, else a zoo checkpoint name
    (fetched and verified); anything else is an error naming both readings."""
    path = Path(value)
    if path.exists() or path.suffix or os.sep in str(value):
        return path, None
    plugin_manager()
    entry = WEIGHTS.get(str(value))
    if entry is None:
        names = sorted(k for k, w in WEIGHTS.module_dict.items() if w.kind == "checkpoint")
        raise ZooError(f"Checkpoint {value} is neither a file nor a zoo checkpoint name (zoo checkpoints: "
                       f"{', '.join(names)}; `tim-bench zoo` lists them).")
    if entry.kind != "checkpoint":
        raise ZooError(f"{value} is an extractor's weights, not a TIM checkpoint; give it to the extraction recipe "
                       f"(`tim-bench zoo {value}`).")
    return fetch(entry.name).path, entry.name
