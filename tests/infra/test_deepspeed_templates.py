"""Every DeepSpeed template in infra/deepspeed is one DeepSpeed accepts, through our builder and through the HF
integration that fills `"auto"` keys; the offload variants are exactly what the builder makes of its flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignment.deepspeed_config import TEMPLATE_DIR, build_deepspeed_config, deepspeed_template

OFFLOAD_VARIANTS = {
    "zero2-offload.json": {"zero_stage": 2, "offload_optimizer": True, "offload_parameters": False},
    "zero3-offload.json": {"zero_stage": 3, "offload_optimizer": True, "offload_parameters": True},
}
# DeepSpeedConfig checks the global batch against the world size it sees: 1 in this process.
RUN_NUMBERS = {
    "micro_batch_size": 2,
    "gradient_accumulation_steps": 3,
    "world_size": 1,
    "gradient_clipping": 1.0,
}


def templates() -> list[Path]:
    return sorted(TEMPLATE_DIR.glob("*.json"))


def test_the_builder_finds_its_templates_and_the_variants_are_there() -> None:
    names = {path.name for path in templates()}
    assert {"zero1.json", "zero2.json", "zero3.json", *OFFLOAD_VARIANTS} <= names
    for stage in (0, 1, 2, 3):
        assert deepspeed_template(stage)["zero_optimization"]["stage"] == stage


@pytest.mark.parametrize("name", list(OFFLOAD_VARIANTS))
def test_offload_variants_are_what_the_builder_makes_of_its_flags(name: str) -> None:
    flags = OFFLOAD_VARIANTS[name]
    variant = json.loads((TEMPLATE_DIR / name).read_text())
    built = build_deepspeed_config(**RUN_NUMBERS, bf16=False, **flags)  # type: ignore[arg-type]
    assert variant["zero_optimization"] == built["zero_optimization"]
    base = deepspeed_template(int(flags["zero_stage"]))
    assert {k: v for k, v in variant.items() if k != "zero_optimization"} == {
        k: v for k, v in base.items() if k != "zero_optimization"
    }


@pytest.mark.parametrize(
    ("stage", "offload"), [(0, False), (1, False), (2, False), (3, False), (1, True), (2, True), (3, True)]
)
def test_built_configs_pass_deepspeed_s_own_validation(stage: int, offload: bool) -> None:
    from deepspeed.runtime.config import DeepSpeedConfig

    built = build_deepspeed_config(
        zero_stage=stage,
        **RUN_NUMBERS,
        bf16=False,
        offload_optimizer=offload,
        offload_parameters=offload and stage == 3,
    )
    parsed = DeepSpeedConfig(built)
    assert parsed.zero_optimization_stage == stage
    assert parsed.train_batch_size == 2 * 3
    offloaded = parsed.zero_config.offload_optimizer
    assert (offloaded is not None and offloaded.device == "cpu") == offload


@pytest.mark.parametrize("path", templates(), ids=lambda path: path.name)
def test_every_template_file_loads_through_the_hf_integration_and_deepspeed(
    path: Path, tmp_path: Path
) -> None:
    """As `TrainingArguments(deepspeed=FILE)` does: HF fills the "auto" keys, then DeepSpeed parses the result."""
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers import TrainingArguments
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    arguments = TrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=2, gradient_accumulation_steps=3, use_cpu=True
    )
    hf_config = HfTrainerDeepSpeedConfig(str(path))
    hf_config.trainer_config_process(arguments)
    assert "auto" not in json.dumps(hf_config.config), path.name
    parsed = DeepSpeedConfig(hf_config.config)
    assert parsed.train_micro_batch_size_per_gpu == 2 and parsed.gradient_accumulation_steps == 3
