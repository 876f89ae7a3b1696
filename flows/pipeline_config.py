"""The whole run's config: the demo corpus, where Ray runs, and one section per stage (as in `configs/*.yaml`).

It is the `pipeline` flow's parameter, so a preset file, `--set` overrides and the Prefect UI form all build the
same validated object. Unknown keys are errors, so a misspelt section or key fails before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from alignment.demo_preferences import DemoPreferencesConfig
from alignment.dpo import DPOConfig
from alignment.evaluate import EvaluateConfig
from alignment.grpo import GRPOConfig
from alignment.ppo import PPOConfig
from alignment.pretrain import PretrainConfig
from alignment.reward import RewardModelConfig
from alignment.rloo import RLOOConfig
from alignment.sft import SFTRecipeConfig
from demo_corpus.config import DemoCorpusConfig
from stages.core.config_loading import apply_overrides, build_config, read_yaml
from stages.core.runner import Executor
from stages.curation import CurationConfig
from stages.tokenize.config import TokenizeConfig

DEMO_CONFIG = Path("configs") / "demo.yaml"
# The run directory's step folders (flows.pipeline writes them; a run on an object store downloads those its
# steps need, `step_directories`).
CORPUS_DIR = "corpus"
TOKENS_DIR = "tokens"
BASE_MODEL_DIR = "checkpoints/base"
SFT_MODEL_DIR = "checkpoints/sft"
PREFERENCES_DIR = "preferences"
REWARD_MODEL_DIR = "checkpoints/rm"
CHECKPOINTS_DIR = "checkpoints"
HELDOUT_REWARD_MODEL_DIR = "checkpoints/rm-heldout"
EVALUATIONS_DIR = "evaluations"
AlignmentMethod = Literal["dpo", "ppo", "grpo", "rloo"]
PipelineStep = Literal["curate", "tokenize", "pretrain", "sft", "preferences", "reward", "align", "evaluate"]


class PipelineConfig(CurationConfig):
    """The curation sections (`ingest`, `clean`, `dedup`, `label`: inherited, so a new curation stage joins by
    itself) plus the run's own settings."""

    demo_docs: int = Field(
        3000, gt=0, description="documents of the built-in demo corpus (used when no input)"
    )
    seed: int = Field(0, description="seed of the demo corpus")
    demo_languages: list[str] = Field(
        default_factory=lambda: ["en"],
        min_length=1,
        description="languages of the demo corpus's pages: [en] (default), [zh] or [en, zh] (also allow them in "
        "clean.language.allowed_languages; configs/demo-bilingual.yaml does both)",
    )
    executor: Executor = Field(
        "ray", description="ray: a Ray cluster (local unless ray_address); local: in process"
    )
    ray_address: str | None = Field(None, description="a remote Ray cluster (else RAY_ADDRESS, else local)")
    until: PipelineStep = Field(
        "evaluate",
        description="the last step to run: curate, tokenize, pretrain, sft, preferences, reward (both reward "
        "models), align (the aligned policies) or evaluate (everything)",
    )
    tokenize: TokenizeConfig = Field(default_factory=TokenizeConfig)
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig)
    sft: SFTRecipeConfig = Field(
        default_factory=SFTRecipeConfig,
        description="SFT settings; in the pipeline, `model` is always the run's own pretrained checkpoint",
    )
    preferences: DemoPreferencesConfig = Field(
        default_factory=DemoPreferencesConfig,
        description="demo preference pairs; in the pipeline, `model` is always the run's SFT checkpoint",
    )
    reward: RewardModelConfig = Field(
        default_factory=RewardModelConfig,
        description="reward model; in the pipeline, `model` is the run's SFT checkpoint and `eval_path` its "
        "held-out demo pairs",
    )
    dpo: DPOConfig = Field(
        default_factory=DPOConfig,
        description="DPO; in the pipeline, `model` is the run's SFT checkpoint and `eval_path` its held-out "
        "demo pairs",
    )
    ppo: PPOConfig = Field(
        default_factory=PPOConfig,
        description="PPO; in the pipeline, `model` is the run's SFT checkpoint, `reward_model` its reward model "
        "and `guard.heldout_model` its held-out reward model",
    )
    grpo: GRPOConfig = Field(
        default_factory=GRPOConfig,
        description="GRPO; the run's SFT checkpoint, reward model and held-out reward model, as for PPO",
    )
    rloo: RLOOConfig = Field(
        default_factory=RLOOConfig,
        description="RLOO; the run's SFT checkpoint, reward model and held-out reward model, as for PPO",
    )
    alignment: list[AlignmentMethod] = Field(
        default_factory=lambda: ["dpo", "ppo", "grpo"],
        min_length=1,
        description="the aligned policies to train from the SFT model (each into checkpoints/NAME) and evaluate "
        "(evaluations/NAME), in this order",
    )
    evaluate: EvaluateConfig = Field(
        default_factory=EvaluateConfig,
        description="evaluation of each aligned policy; in the pipeline, the policy, the reference (the SFT "
        "model), both reward models and the held-out prompts are the run's own",
    )

    @field_validator("demo_languages")
    @classmethod
    def _demo_writes_these_languages(cls, languages: list[str]) -> list[str]:
        """Checked as the demo corpus checks them (its languages, each once), when the config is read."""
        DemoCorpusConfig(languages=tuple(languages))
        return languages

    @property
    def curation(self) -> CurationConfig:
        return CurationConfig.model_validate(
            {name: getattr(self, name) for name in CurationConfig.model_fields}
        )


def default_config_path() -> Path | None:
    """`configs/demo.yaml` of the working directory, else of the source checkout lmforge runs from."""
    for candidate in (DEMO_CONFIG, Path(__file__).resolve().parent.parent / DEMO_CONFIG):
        if candidate.is_file():
            return candidate
    return None


def load_pipeline_config(
    path: str | Path | None = None, overrides: list[str] | None = None
) -> PipelineConfig:
    """A preset file (default: the demo preset when it can be found) plus `key.sub=value` overrides."""
    path = path if path is not None else default_config_path()
    values = read_yaml(path) if path is not None else {}
    return build_config(
        PipelineConfig, apply_overrides(values, overrides or []), what=f"config {path or ''}".strip()
    )


def step_directories(config: PipelineConfig) -> list[str]:
    """The run directory's step folders that a run up to `config.until` reads or writes, in pipeline order:
    what a resumed run on an object store needs in its local copy (`flows.run_mirror.RunMirror.hydrate`)."""
    from stages.registry import CURATION_ORDER, CURATION_OUTPUTS

    phases: list[tuple[str, list[str]]] = [
        ("curate", [CORPUS_DIR, *(CURATION_OUTPUTS[name] for name in CURATION_ORDER)]),
        ("tokenize", [TOKENS_DIR]),
        ("pretrain", [BASE_MODEL_DIR]),
        ("sft", [SFT_MODEL_DIR]),
        ("preferences", [PREFERENCES_DIR]),
        ("reward", [REWARD_MODEL_DIR, HELDOUT_REWARD_MODEL_DIR]),
        ("align", [f"{CHECKPOINTS_DIR}/{method}" for method in config.alignment]),
        ("evaluate", [f"{EVALUATIONS_DIR}/{method}" for method in config.alignment]),
    ]
    directories: list[str] = []
    for phase, names in phases:
        directories.extend(names)
        if phase == config.until:
            break
    return directories
