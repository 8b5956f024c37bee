"""Optional TensorBoard logging of a training run (``train_cfg.tensorboard=True``) to ``WORK_DIR/tensorboard/``.

Scalars: ``train/loss`` and ``train/lr`` at each iteration line of the log (every ``log_interval`` steps),
``epoch/train_loss``, ``epoch/lr`` and ``val/<metric>`` per epoch. Needs the optional ``tensorboard`` package
(``pip install "tim-bench[tensorboard]"``); asking for it without the package is an error before training.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tim_bench_registry import TimBenchError

TENSORBOARD_DIR = "tensorboard"


class RunBoard:
    """Writes a run's scalars to TensorBoard event files; the disabled board (``writer`` None) does nothing."""

    def __init__(self, writer: Any = None) -> None:
        self.writer = writer

    def iteration(self, global_step: int, loss: float, lr: float) -> None:
        if self.writer is not None:
            self.writer.add_scalar("train/loss", loss, global_step)
            self.writer.add_scalar("train/lr", lr, global_step)

    def epoch(self, entry: dict[str, Any]) -> None:
        """One ``metrics.jsonl`` epoch entry (full precision)."""
        if self.writer is None:
            return
        step = int(entry["epoch"])
        self.writer.add_scalar("epoch/train_loss", entry["train_loss"], step)
        self.writer.add_scalar("epoch/lr", entry["lr"], step)
        for name, value in (entry.get("val") or {}).items():
            if value is not None:
                self.writer.add_scalar(f"val/{name}", value, step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def summary_writer_class() -> type:
    """torch's SummaryWriter, or a clear error naming the package to install."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise TimBenchError("train_cfg.tensorboard=True needs the tensorboard package, which is not installed; "
                            "pip install \"tim-bench[tensorboard]\" (or pip install tensorboard), or set "
                            "train_cfg.tensorboard=False.") from None
    return SummaryWriter


def open_board(work_dir: Path, enabled: bool) -> RunBoard:
    """A board writing to ``work_dir/tensorboard`` when ``enabled``, else one that does nothing."""
    if not enabled:
        return RunBoard()
    return RunBoard(summary_writer_class()(log_dir=str(Path(work_dir) / TENSORBOARD_DIR)))
