"""A training process's process-wide state, and how to return it to what a fresh process has.

torch.distributed, DeepSpeed, accelerate and transformers keep state in module globals and in the environment
(a process group, RANK/WORLD_SIZE, cached communication groups, singletons, the ZeRO-3 switch). A process that
runs several training runs in turn (the pipeline's warm training process, the actors of a warm worker group)
resets it before and after each run, so no run sees what the previous one left, and frees the memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys

DISTRIBUTED_ENVIRONMENT = (
    "RANK",
    "WORLD_SIZE",
    "LOCAL_RANK",
    "LOCAL_WORLD_SIZE",
    "NODE_RANK",
    "MASTER_ADDR",
    "MASTER_PORT",
)


def return_freed_memory() -> None:
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def forget_deepspeed_groups() -> None:
    """DeepSpeed caches its communication backend and the process groups it derived from the world group
    (`deepspeed.utils.groups._WORLD_GROUP`, data/model/expert-parallel groups) in module globals: after the
    world group is destroyed they name groups that no longer exist, so they are emptied too."""
    import deepspeed.comm.comm as deepspeed_comm
    from deepspeed.utils import groups

    deepspeed_comm.cdb = None
    groups.mpu = None
    for name, value in list(vars(groups).items()):
        if not (name.startswith("_") and name.lstrip("_")[:1].isupper()) or isinstance(value, str):
            continue
        if isinstance(value, dict | list):
            value.clear()
        elif not isinstance(value, int | float | bool | type) and not callable(value):
            setattr(groups, name, None)


def reset_training_state() -> None:
    """Leave the process as a fresh one would be: no process group, no DeepSpeed/accelerate singletons, no
    rendezvous environment (inherited or set by the last step)."""
    for variable in [*DISTRIBUTED_ENVIRONMENT, *(key for key in os.environ if key.startswith("ACCELERATE_"))]:
        os.environ.pop(variable, None)
    if "torch" in sys.modules:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if "deepspeed" in sys.modules:
        forget_deepspeed_groups()
    if "accelerate" in sys.modules:
        from accelerate.state import AcceleratorState, GradientState, PartialState

        AcceleratorState._reset_state(reset_partial_state=True)
        PartialState._reset_state()
        GradientState._reset_state()
    if "transformers" in sys.modules:
        from transformers.integrations.deepspeed import unset_hf_deepspeed_config

        unset_hf_deepspeed_config()
    return_freed_memory()
