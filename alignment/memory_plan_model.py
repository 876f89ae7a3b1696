"""The geometry a memory plan needs from a model, read without building it: sizes, parameters, LoRA's share.

`lmforge plan` must answer for models that do not fit (that is the point), so nothing here allocates a tensor:
a preset's numbers come from `configs/models.yaml`, a checkpoint's from its `config.json`, and the parameter
count is the Llama formula (embeddings, per-layer attention and SwiGLU MLP, norms, and the head).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from stages.core.errors import UserError

Head = Literal["lm", "score"]

ALL_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# The recipes' default (`alignment.lora.LoRAConfig`: every block linear), used when a `lora` section names none.
DEFAULT_LORA_TARGETS = ALL_LINEAR


class PlanInputError(UserError):
    """A plan that cannot be made from what was given (unknown model, missing vocabulary...); one line."""


@dataclass(frozen=True)
class ModelShape:
    """A Llama-style decoder; `head` is `lm` (vocabulary logits) or `score` (one value per token: reward, critic)."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool = True
    head: Head = "lm"

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each projection of one layer, by PEFT's module names."""
        h, q, kv, i = self.hidden, self.heads * self.head_dim, self.kv_dim, self.intermediate
        return {
            "q_proj": (h, q),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (q, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    @property
    def layer_parameters(self) -> int:
        return sum(a * b for a, b in self.linear_shapes().values()) + 2 * self.hidden

    @property
    def parameters(self) -> int:
        embeddings = self.vocab * self.hidden
        if self.head == "score":
            head = self.hidden
        else:
            head = 0 if self.tied else self.vocab * self.hidden
        return embeddings + self.layers * self.layer_parameters + self.hidden + head

    def as_score_model(self) -> ModelShape:
        return replace(self, head="score")


@dataclass(frozen=True)
class LoRASettings:
    """A `lora:` section (PEFT's `LoraConfig` names, as `alignment.lora.LoRAConfig`); only `r` and
    `target_modules` change memory. For recipes whose config has no such section yet, `lmforge plan` takes it as
    a plan-only section."""

    r: int = 16
    alpha: float = 32.0
    dropout: float = 0.05
    target_modules: tuple[str, ...] = DEFAULT_LORA_TARGETS

    @classmethod
    def from_values(cls, values: object) -> LoRASettings:
        if not isinstance(values, dict):
            raise PlanInputError(f"lora must be a section (lora.r=16 ...), got {values!r}")
        unknown = set(values) - {"enabled", "r", "alpha", "dropout", "target_modules"}
        if unknown:
            raise PlanInputError(
                f"unknown lora key(s) {', '.join(sorted(unknown))}; "
                "known: enabled, r, alpha, dropout, target_modules"
            )
        targets = values.get("target_modules", DEFAULT_LORA_TARGETS)
        if targets == "all-linear":
            targets = ALL_LINEAR
        if isinstance(targets, str):  # `--set lora.target_modules=q_proj,v_proj`
            targets = tuple(part.strip() for part in targets.split(",") if part.strip())
        targets = tuple(str(target) for target in targets)
        bad = [target for target in targets if target not in ALL_LINEAR]
        if bad:
            raise PlanInputError(f"lora.target_modules: {', '.join(bad)} not in {', '.join(ALL_LINEAR)}")
        rank = values.get("r", cls.r)
        if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
            raise PlanInputError(f"lora.r must be a positive integer, got {rank!r}")
        return cls(r=rank, target_modules=targets)

    def trainable(self, shape: ModelShape) -> int:
        """Adapter parameters: r·(in + out) per targeted projection per layer (A is r×in, B is out×r), plus the
        score head, which PEFT's sequence-classification task keeps trainable (`modules_to_save`)."""
        linears = shape.linear_shapes()
        adapters = shape.layers * sum(self.r * sum(linears[name]) for name in self.target_modules)
        return adapters + (shape.hidden if shape.head == "score" else 0)


def load_presets(presets_path: str | None) -> dict[str, dict]:
    from alignment.models import load_model_presets

    try:
        return {name: preset.model_dump() for name, preset in load_model_presets(presets_path).items()}
    except FileNotFoundError as error:
        raise PlanInputError(f"model presets file not found: {presets_path}") from error


def checkpoint_head(config: dict) -> Head:
    architectures = config.get("architectures") or []
    return "score" if any(name.endswith("ForSequenceClassification") for name in architectures) else "lm"


def shape_from_checkpoint(directory: Path) -> ModelShape:
    """The geometry in a checkpoint's `config.json` (any Llama-like HF config)."""
    try:
        config = json.loads((directory / "config.json").read_text())
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        return ModelShape(
            hidden=hidden,
            layers=int(config["num_hidden_layers"]),
            heads=heads,
            kv_heads=int(config.get("num_key_value_heads") or heads),
            intermediate=int(config.get("intermediate_size") or 4 * hidden),
            vocab=int(config["vocab_size"]),
            tied=bool(config.get("tie_word_embeddings", True)),
            head=checkpoint_head(config),
        )
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as error:
        raise PlanInputError(
            f"{directory}/config.json: cannot read the model's geometry ({error})"
        ) from error


def tokenizer_vocab_size(directory: Path) -> int | None:
    """len(tokenizer) of a saved fast tokenizer (its vocabulary plus added tokens), read from `tokenizer.json`."""
    path = directory / "tokenizer.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    ids = set((data.get("model") or {}).get("vocab", {}).values())
    ids.update(token["id"] for token in data.get("added_tokens", []))
    return len(ids) or None


def resolve_shape(
    model: str | None,
    *,
    vocab: int | None,
    presets_path: str | None = None,
    head: Head = "lm",
    what: str = "model",
) -> ModelShape:
    """The shape of `model`: a checkpoint directory (its `config.json`), else a preset name with `vocab`."""
    if model is None:
        raise PlanInputError(
            f"set {what} (a checkpoint directory or a preset of configs/models.yaml) to plan"
        )
    directory = Path(model)
    if (directory / "config.json").is_file():
        shape = shape_from_checkpoint(directory)
        return shape if head == "lm" or shape.head == "score" else shape.as_score_model()
    presets = load_presets(presets_path)
    if model not in presets:
        raise PlanInputError(
            f"{what} {model!r} is neither a checkpoint directory nor a preset ({', '.join(presets)})"
        )
    if vocab is None:
        raise PlanInputError(f"{what} {model!r} is a preset: set plan.vocab_size to plan it")
    preset = presets[model]
    return ModelShape(
        hidden=preset["hidden_size"],
        layers=preset["num_hidden_layers"],
        heads=preset["num_attention_heads"],
        kv_heads=preset["num_key_value_heads"],
        intermediate=preset["intermediate_size"],
        vocab=vocab,
        tied=preset["tie_word_embeddings"],
        head=head,
    )
