"""Every shipped recipe with its benchmark, published numbers, released checkpoint, extractor weights and the
commands that reproduce each number: what ``tim-bench zoo`` prints and ``tim_bench.zoo_frame`` returns.

Recipes are the config files in the folders distributions declare as ``tim_bench.configs`` entry points
(first-party and third-party alike; folders from the deprecated ``tim_bench_config_dirs`` hook too);
published numbers are the reference rows that name the recipe; weights are the ``WEIGHTS`` entries that
name it.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from tim_bench_registry import REFERENCES, WEIGHTS, Reference, Weights

from ..config import hook_config_dirs
from ..recipe_folders import declared_recipe_folders

from .download import cache_dir


@dataclass(frozen=True)
class Recipe:
    """One shipped config: ``kind`` is ``train`` (a TIM recipe) or ``extract`` (a feature-extraction recipe)."""

    name: str
    kind: str
    benchmark: str
    path: Path
    references: tuple[Reference, ...]
    checkpoints: tuple[Weights, ...]
    extractor_weights: tuple[Weights, ...]

    def commands(self) -> list[str]:
        """The commands that reproduce this recipe's numbers (DIR: the benchmark's data, see the README)."""
        if self.kind == "extract":
            return [f"tim-bench download {w.name}" for w in self.extractor_weights] + [
                f"tim-bench extract-features {self.name} --cfg-options data_root=DIR extract.split=SPLIT"
                + "".join(f" extract.extractor.checkpoint={cache_dir() / w.filename}"
                          for w in self.extractor_weights[:1])]
        splits = sorted({r.split for r in self.references}) or ["val"]
        out = [f"tim-bench run {self.name} --cfg-options data_root=DIR"]
        for ckpt in self.checkpoints:
            out += [f"tim-bench test {self.name} {ckpt.name} --split {split} --cfg-options data_root=DIR"
                    for split in splits]
        return out


def _recipe_folders() -> list[tuple[str, Path]]:
    """(benchmark, folder) of every config folder: the declared ones, then any from the deprecated hook."""
    declared = [(f.benchmark, f.path) for f in declared_recipe_folders()]
    return declared + [(benchmark_of(plugin), folder) for plugin, folder in hook_config_dirs()]


def benchmark_of(plugin: str) -> str:
    """A plugin's short name: ``tim_bench_plugins.ave`` -> ``ave``, ``my_bench.plugin`` -> ``my_bench``."""
    parts = [p for p in plugin.split(".") if p not in ("tim_bench_plugins", "plugin", "plugins")]
    return parts[-1] if parts else plugin


def recipes(pattern: str = "*") -> list[Recipe]:
    """Every shipped recipe whose name matches ``pattern`` (a wildcard), training recipes first, by benchmark."""
    dirs = _recipe_folders()  # loads every plugin, which registers its reference rows and weights
    refs = [ref for n in sorted(REFERENCES.module_dict) if (ref := REFERENCES.get(n)) is not None]
    weights = [w for n in sorted(WEIGHTS.module_dict) if (w := WEIGHTS.get(n)) is not None]
    found: dict[str, Recipe] = {}
    for benchmark, folder in dirs:
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else ():
            name = path.stem
            if name.startswith("_") or name in found or not fnmatch.fnmatch(name, pattern):
                continue
            kind = "extract" if folder.name == "extract" or name.startswith("extract") else "train"
            found[name] = Recipe(
                name, kind, benchmark, path, tuple(r for r in refs if name in r.configs),
                tuple(w for w in weights if w.kind == "checkpoint" and name in w.recipes),
                tuple(w for w in weights if w.kind == "extractor" and name in w.recipes))
    return sorted(found.values(), key=lambda r: (r.kind != "train", r.benchmark, r.name))
