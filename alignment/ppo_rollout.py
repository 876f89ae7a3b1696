"""PPO's experience: sample replies to a batch of prompts, then score every response token with the four models.

Layout of one batch (the same for every model that reads token ids, so each reads one tensor):

    [pad pad <|user|> prompt … <|assistant|>\\n | reply tokens … <|end|> pad pad]
     └──── prompt block: P columns, left-padded ────┘ └── response block: R columns ──┘

Prompts are rendered with the policy's chat template (`add_generation_prompt`), cut from the left to
`max_prompt_length` tokens and left-padded, so every response starts at column P. Generation is HF `generate`
(KV cache, multinomial sampling at `temperature`, `top_k`, `top_p`, and nothing else: the checkpoint's own
`generation_config.json` settings are set aside, `alignment.models.sampling_exactly`, so the tokens come from
the distribution scored below), stopping a row at the chat template's
end-of-turn token or EOS; the response mask covers the tokens up to and including that stop token, and tokens
after it become padding. A row that reaches `max_new_tokens` without one is marked not `stopped`.

Scoring, without gradients, in row chunks of `forward_batch_size`:

* the actor's log-probabilities of its own tokens (a forward pass, so the first PPO epoch's ratio is exactly 1),
* the frozen reference's log-probabilities of the same tokens (with the actor's LoRA: the actor with its
  adapter disabled, `reference_of`),
* the critic's value before each response token,
* the reward model's score of the (prompt, reply) text (`alignment.reward_scoring`: rendered with the reward
  model's own template and tokenizer, so the two tokenizers may differ).

Logits are computed only for the response block (`logits_to_keep`) and divided by the sampling temperature, so
the log-probabilities are those of the distribution that was sampled from.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from alignment.ppo_losses import token_log_probs

Message = dict[str, str]


@dataclass(frozen=True)
class SamplingSettings:
    max_new_tokens: int
    temperature: float
    top_k: int
    top_p: float
    stop_token_ids: tuple[int, ...]
    pad_token_id: int
    record_log_probs: bool = False  # keep the generator's own log-probs of its tokens (a diagnostic: costly)


@dataclass(frozen=True)
class PromptBatch:
    messages: list[list[Message]]
    input_ids: torch.Tensor  # [B, P], left-padded
    attention_mask: torch.Tensor  # [B, P]


@dataclass
class Generation:
    """Sampled replies in the layout of the module docstring."""

    messages: list[list[Message]]
    sequences: torch.Tensor  # [B, P + R]
    attention_mask: torch.Tensor  # [B, P + R]
    position_ids: torch.Tensor  # [B, P + R]
    response_mask: torch.Tensor  # [B, R], float
    prompt_width: int
    stopped: torch.Tensor  # [B], bool: ended with a stop token
    replies: list[str]
    sampled_log_probs: torch.Tensor | None = None  # [B, R]: log-probs `generate` sampled with (if recorded)

    @property
    def responses(self) -> torch.Tensor:
        return self.sequences[:, self.prompt_width :]

    @property
    def response_lengths(self) -> torch.Tensor:
        return self.response_mask.sum(1)

    def rows(self, indices: torch.Tensor | np.ndarray | slice) -> SequenceRows:
        """Some rows, with the columns that are padding in all of them cut off (left of the prompts, right of the
        responses), so a minibatch of short replies costs what short replies cost."""
        if isinstance(indices, np.ndarray):
            indices = torch.from_numpy(indices)
        mask = self.attention_mask[indices]
        response_width = max(1, int(self.response_mask[indices].sum(1).max()))
        first = int(mask[:, : self.prompt_width].argmax(1).min()) if mask.shape[0] else 0
        end = self.prompt_width + response_width
        return SequenceRows(
            input_ids=self.sequences[indices, first:end],
            attention_mask=mask[:, first:end],
            position_ids=self.position_ids[indices, first:end],
            response_width=response_width,
        )


@dataclass(frozen=True)
class SequenceRows:
    """Rows of a `Generation` as model input; the response block is the last `response_width` columns."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    position_ids: torch.Tensor
    response_width: int

    @property
    def responses(self) -> torch.Tensor:
        return self.input_ids[:, -self.response_width :]

    def to(self, device: Any) -> SequenceRows:
        return SequenceRows(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.position_ids.to(device),
            self.response_width,
        )


@dataclass
class Experience:
    """A generation scored by the four models; per-token tensors are [B, R] and zero on padding."""

    generation: Generation
    log_probs: torch.Tensor
    reference_log_probs: torch.Tensor
    values: torch.Tensor
    scores: torch.Tensor  # [B] reward-model scores (float64 from the scorer, as float32)
    seconds: dict[str, float] = field(default_factory=dict)


def encode_prompts(tokenizer: Any, prompts: list[list[Message]], max_prompt_length: int) -> PromptBatch:
    """Chat-template token ids of each prompt (generation prompt opened), the last `max_prompt_length` kept,
    left-padded into one tensor."""
    texts = [
        tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
        for prompt in prompts
    ]
    encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
    rows = [ids[-max_prompt_length:] for ids in encoded]
    width = max(len(ids) for ids in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, width - len(ids) :] = 1
    return PromptBatch(prompts, input_ids, attention_mask)


def position_ids_of(attention_mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only (left padding does not shift them), as `generate` counts them."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)


def gathered_parameters(engine: Any) -> contextlib.AbstractContextManager:
    """Under ZeRO-3, every parameter gathered for the duration (one all-gather, not one per forward of each
    generated token); elsewhere nothing to do."""
    if not engine.zero_optimization_partition_weights():
        return contextlib.nullcontext()
    import deepspeed

    return deepspeed.zero.GatheredParameters(list(engine.module.parameters()), modifier_rank=None)


def generate(
    actor: Any, tokenizer: Any, prompts: PromptBatch, settings: SamplingSettings, device: Any
) -> Generation:
    """Sample one reply per prompt with the actor engine's module (see module docstring)."""
    from alignment.models import sampling_exactly

    module = actor.module
    was_training = module.training
    module.eval()
    stops = list(settings.stop_token_ids)
    with (
        torch.no_grad(),
        gathered_parameters(actor),
        sampling_exactly(module, eos_token_id=stops, pad_token_id=settings.pad_token_id),
    ):
        output = module.generate(
            input_ids=prompts.input_ids.to(device),
            attention_mask=prompts.attention_mask.to(device),
            do_sample=True,
            temperature=settings.temperature,
            top_k=settings.top_k,
            top_p=settings.top_p,
            max_new_tokens=settings.max_new_tokens,
            eos_token_id=stops,
            pad_token_id=settings.pad_token_id,
            use_cache=True,
            output_scores=settings.record_log_probs,
            return_dict_in_generate=True,
        )
    module.train(was_training)
    prompt_width = prompts.input_ids.shape[1]
    responses = output.sequences[:, prompt_width:].cpu()
    is_stop = torch.isin(responses, torch.tensor(settings.stop_token_ids))
    stopped = is_stop.any(1)
    first_stop = torch.where(stopped, is_stop.int().argmax(1), responses.shape[1] - 1)
    columns = torch.arange(responses.shape[1])
    response_mask = (columns[None, :] <= first_stop[:, None]).float()
    responses = torch.where(response_mask.bool(), responses, settings.pad_token_id)
    reply_ids = [
        row[: int(length) - int(stop)].tolist()
        for row, length, stop in zip(responses, response_mask.sum(1), stopped, strict=True)
    ]
    replies = [text.strip() for text in tokenizer.batch_decode(reply_ids, skip_special_tokens=True)]
    attention_mask = torch.cat([prompts.attention_mask, response_mask.long()], dim=1)
    sampled = None
    if settings.record_log_probs:  # the processed scores are what `generate` drew each token from
        scores = torch.stack(output.scores, dim=1).float().cpu()
        picked = torch.log_softmax(scores, -1).gather(-1, responses.unsqueeze(-1)).squeeze(-1)
        sampled = torch.where(response_mask.bool(), picked, 0.0)  # padding may have been excluded (-inf)
    return Generation(
        messages=prompts.messages,
        sequences=torch.cat([prompts.input_ids, responses], dim=1),
        attention_mask=attention_mask,
        position_ids=position_ids_of(attention_mask),
        response_mask=response_mask,
        prompt_width=prompt_width,
        stopped=stopped,
        replies=replies,
        sampled_log_probs=sampled,
    )


@contextlib.contextmanager
def reference_of(actor: Any, reference: Any | None) -> Iterator[Any]:
    """The model whose log-probabilities are the reference's: the frozen `reference` engine, or, with none
    (LoRA), the `actor` engine with its adapter disabled for the duration: the base weights, i.e. the starting
    policy, with no second copy held."""
    if reference is not None:
        yield reference
        return
    from alignment.lora import adapter_disabled

    with adapter_disabled(actor.module):
        yield actor


def chunks(size: int, chunk: int) -> Iterator[slice]:
    for start in range(0, size, chunk):
        yield slice(start, min(size, start + chunk))


def response_logits(model: Any, rows: SequenceRows, temperature: float) -> torch.Tensor:
    """Logits predicting each response token ([b, r, vocab]), over the temperature; only the response block's
    logits are computed (`logits_to_keep`)."""
    logits = model(
        input_ids=rows.input_ids,
        attention_mask=rows.attention_mask,
        position_ids=rows.position_ids,
        logits_to_keep=rows.response_width + 1,
        use_cache=False,
    ).logits[:, :-1]
    return logits.float() / temperature


def response_values(critic: Any, rows: SequenceRows) -> torch.Tensor:
    """The critic's value of the state before each response token ([b, r])."""
    values = critic(
        input_ids=rows.input_ids, attention_mask=rows.attention_mask, position_ids=rows.position_ids
    )
    return values[:, -rows.response_width - 1 : -1].float()


def padded_to(tensor: torch.Tensor, width: int) -> torch.Tensor:
    return torch.nn.functional.pad(tensor, (0, width - tensor.shape[1]))


def score_generation(
    generation: Generation,
    *,
    actor: Any,
    reference: Any | None,
    critic: Any,
    reward: Any,
    temperature: float,
    forward_batch_size: int,
    device: Any,
) -> Experience:
    """Log-probs (actor, reference), values and reward scores of a generation (module docstring); a `None`
    reference is the adapter-disabled actor (`reference_of`)."""
    width = generation.response_mask.shape[1]
    mask = generation.response_mask
    parts: dict[str, list[torch.Tensor]] = {"log_probs": [], "reference_log_probs": [], "values": []}
    seconds: dict[str, float] = {"actor": 0.0, "reference": 0.0, "critic": 0.0, "reward": 0.0}
    for engine in (actor, critic):
        engine.eval()
    with torch.no_grad():
        for rows_slice in chunks(mask.shape[0], forward_batch_size):
            rows = generation.rows(rows_slice).to(device)
            responses = rows.responses
            for name in ("log_probs", "reference_log_probs"):
                started = time.perf_counter()
                scored_by = (
                    contextlib.nullcontext(actor) if name == "log_probs" else reference_of(actor, reference)
                )
                with scored_by as model:
                    log_probs = token_log_probs(response_logits(model, rows, temperature), responses)
                parts[name].append(padded_to(log_probs.cpu(), width))
                seconds["actor" if name == "log_probs" else "reference"] += time.perf_counter() - started
            started = time.perf_counter()
            parts["values"].append(padded_to(response_values(critic, rows).cpu(), width))
            seconds["critic"] += time.perf_counter() - started
        started = time.perf_counter()
        scores = torch.from_numpy(reward.score(generation.messages, generation.replies)).float()
        seconds["reward"] += time.perf_counter() - started
    for engine in (actor, critic):
        engine.train()
    merged = {name: torch.cat(tensors) * mask for name, tensors in parts.items()}
    return Experience(generation=generation, scores=scores, seconds=seconds, **merged)
