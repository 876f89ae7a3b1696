"""Forwarding what an HF/TRL trainer logs (loss, learning rate, rewards) to a recipe's `on_log` callable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def log_forwarding_callback(on_log: Callable[[dict[str, float]], None]) -> Any:
    """A `TrainerCallback` handing each record the trainer logs to `on_log`, on the world's rank 0 only."""
    from transformers import TrainerCallback

    class LogForwarding(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **_: Any) -> None:
            if logs and state.is_world_process_zero:
                on_log({"step": state.global_step, **logs})

    return LogForwarding()
