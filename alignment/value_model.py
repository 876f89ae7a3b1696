"""The PPO critic: a causal-LM trunk with a scalar value head read at every token.

It is stored as an HF sequence-classification model with one label (`LlamaForSequenceClassification` and the like:
trunk + a `score` linear head), which is exactly the shape of our reward models. So, as in InstructGPT and
DeepSpeed-Chat, the critic can start as a copy of the reward model (trunk and head: its first values are already
reward-shaped), or from the policy checkpoint (its trunk, a fresh head); and the trained critic saves with
`save_pretrained` and loads back with plain `AutoModelForSequenceClassification`.

The critic reads the policy's token ids, so its vocabulary must be the policy's: `load_value_model` checks the
checkpoint's tokenizer against the policy's.

With `lora` (PPO's `critic_lora`) the classifier is wrapped with PEFT's sequence-classification adapters: the
trunk's linears get adapters and the `score` head stays fully trainable (PEFT's `modules_to_save`), so a fresh
head still learns; the forward pass reads the same trunk and head through the wrapper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


class ValueModel(nn.Module):
    """Per-token values V(s_t) of a sequence: the classifier's head applied to every hidden state."""

    def __init__(self, classifier: Any, lora: Any = None) -> None:
        super().__init__()
        if not isinstance(getattr(classifier, "score", None), nn.Linear):
            raise ValueError(f"{type(classifier).__name__} has no `score` head; the critic needs one")
        if lora is not None and lora.enabled:  # an `alignment.lora.LoRAConfig`
            from alignment.lora import wrap_model

            classifier = wrap_model(classifier, lora, "seq_cls")
        self.classifier = classifier

    @property
    def is_adapted(self) -> bool:
        """Whether the classifier carries LoRA adapters (a PEFT model)."""
        return hasattr(self.classifier, "get_base_model")

    @property
    def config(self) -> Any:
        return self.classifier.config

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor
    ) -> Any:
        classifier = self.classifier.get_base_model() if self.is_adapted else self.classifier
        trunk = getattr(classifier, classifier.base_model_prefix)
        hidden = trunk(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
        ).last_hidden_state
        return classifier.score(hidden).squeeze(-1)

    def save_pretrained(self, directory: str | Path, **options: Any) -> None:
        self.classifier.save_pretrained(str(directory), **options)


def same_vocabulary(first: Any, second: Any) -> bool:
    return first.get_vocab() == second.get_vocab()


def load_value_model(source: str | Path, policy_tokenizer: Any, lora: Any = None) -> ValueModel:
    """A critic from a reward-model checkpoint (trunk + head) or a causal-LM checkpoint (trunk, new head); with
    an enabled `lora` (`alignment.lora.LoRAConfig`) it trains adapters and the head only."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging

    from stages.core.tokenizer import load_tokenizer

    source = Path(source)
    if (source / "tokenizer_config.json").is_file():
        own = load_tokenizer(source)
        if not same_vocabulary(own, policy_tokenizer):
            raise ValueError(
                f"critic checkpoint {source} has another tokenizer than the policy; the critic reads the policy's "
                "token ids, so start it from the policy (`critic_model` = the SFT checkpoint) or from a reward "
                "model trained with the policy's tokenizer"
            )
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # a causal-LM source has no `score` weights: a fresh head is what we want
    try:
        classifier = AutoModelForSequenceClassification.from_pretrained(
            str(source), num_labels=1, dtype=torch.float32
        )
    finally:
        logging.set_verbosity(verbosity)
    classifier.config.pad_token_id = policy_tokenizer.pad_token_id
    if classifier.config.vocab_size < len(policy_tokenizer):
        raise ValueError(
            f"critic checkpoint {source} has {classifier.config.vocab_size} embeddings, "
            f"the policy's tokenizer needs {len(policy_tokenizer)}"
        )
    return ValueModel(classifier, lora)
