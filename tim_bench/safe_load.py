"""The engine's side of the checkpoint trust gate (``tim_bench_registry.checkpoints``): on the command line a file
that pickles Python objects is trusted with ``--trust-checkpoint``.

Released original TIM checkpoints pickle Python objects (meters, timers); a fixture or checkpoint anyone hands
to tim-bench goes through here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tim_bench_registry.checkpoints import UntrustedCheckpointError, check_checkpoint_file
from tim_bench_registry.checkpoints import load_checkpoint as load_through_gate

__all__ = ["TRUST_FLAG", "UntrustedCheckpointError", "check_checkpoint_file", "load_checkpoint"]

#: How a command-line user trusts a checkpoint, as the gate's refusal ends ("if you trust where it came from, ...").
TRUST_FLAG = "pass --trust-checkpoint (the original TIM's .pth.tar pickles its meters)"


def load_checkpoint(path: str | Path, trust: bool = False) -> dict[str, Any]:
    """Load a checkpoint safely; with ``trust=True`` (``--trust-checkpoint``) allow full unpickling."""
    return load_through_gate(path, how_to_trust=TRUST_FLAG, trust=trust)
