"""`lmforge merge ADAPTER_DIR --output DIR`: fold a LoRA adapter into its base and write a plain HF model.

ADAPTER_DIR is a PEFT adapter directory (`adapter_config.json` + `adapter_model.safetensors`), such as the
`adapter/` that sft, reward and dpo write with `lora.enabled`; its `base_model_name_or_path` names the base (a
checkpoint directory, absolute or relative to ADAPTER_DIR). The result loads with `AutoModelForCausalLM` (or
`AutoModelForSequenceClassification` for a reward model's adapter) with no PEFT installed, and carries the
tokenizer. The recipes already write the merged model into their output; this is for adapters kept or moved
apart, or trained elsewhere on one of our checkpoints. DIR must be new or empty: nothing is overwritten.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def command_merge(arguments: argparse.Namespace) -> None:
    from flows.cli import UsageError

    adapter, output = Path(arguments.adapter), Path(arguments.output)
    if not adapter.is_dir():
        raise UsageError(f"adapter directory does not exist: {adapter}")
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise UsageError(f"--output must be a new or empty directory, and {output} is not")
    from alignment.lora import adapter_base, merge_adapter

    try:
        adapter_base(adapter)  # a bad directory fails here, on one line, before any model loads
    except ValueError as error:
        raise UsageError(str(error)) from None
    merge_adapter(adapter, output)
    print(f"merged {adapter} into {output}", flush=True)


def add_merge_command(commands: Any) -> None:
    """`lmforge merge ADAPTER_DIR --output DIR`, on the subparsers object of `flows.cli.build_parser`."""
    parser = commands.add_parser(
        "merge",
        help="merge a LoRA adapter into its base model and write a plain HF checkpoint",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "adapter", metavar="ADAPTER_DIR", help="a PEFT adapter directory (e.g. OUTPUT/adapter)"
    )
    parser.add_argument("--output", required=True, metavar="DIR", help="where to write the merged model")
    parser.set_defaults(handler=command_merge)
