"""Released weights a recipe can use (the model zoo, ``tim-bench zoo`` and ``tim-bench download``): TIM checkpoints
and the extractor backbones' weights, each with what verifies it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_KINDS = ("checkpoint", "extractor")


@dataclass(frozen=True)
class Weights:
    """One released weights file and how to check it.

    The file's state dict must match ``manifest`` exactly (and its bytes ``sha256`` where one is known).
    ``kind`` is ``checkpoint`` (a trained TIM model: ``test``/``predict``/``load_from`` take its name) or
    ``extractor`` (a backbone an extraction recipe reads). ``manifest`` is (package, path of its key -> shape TSV
    inside the package). ``nested`` keys are unwrapped in turn to reach the state dict; ``flatten`` names the
    sub-dicts whose keys the manifest lists as ``part.key`` (Omnivore's ``trunk``/``heads``). ``alternatives``
    allows other shapes for a key where the release's width is not known (e.g. EPIC's 1024- or 2048-d visual
    input). ``allow`` names the plain classes besides tensors the file may pickle (``module.Class``).
    """

    name: str
    kind: str
    filename: str
    url: str | None
    manifest: tuple[str, str]
    recipes: tuple[str, ...] = ()
    source: str = ""
    sha256: str | None = None
    sha256_prefix: str | None = None  # torch.hub's convention: the file name ends with the sha256's first digits
    nested: tuple[str, ...] = ()
    flatten: tuple[str, ...] = ()
    alternatives: Mapping[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    allow: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Weights {self.name}: kind must be one of {', '.join(_KINDS)}, not {self.kind!r}.")
