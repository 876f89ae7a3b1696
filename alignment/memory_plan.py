"""`lmforge plan`'s arithmetic: the peak memory of one training process, term by term, before anything runs.

Why: out-of-memory is the commonest way a run dies, usually minutes in, after models load. Every term below is
computed from the recipe's config and the models' geometry (`alignment.memory_plan_recipes`), per process:

* **parameters / gradients / optimizer state** of each trained model, as DeepSpeed lays them out. With P
  parameters (T trainable: all, or LoRA's adapters), N workers, w bytes per weight (2 in bf16 under DeepSpeed,
  else 4: fp32 on the CPU, and the HF Trainer's bf16 autocast keeps fp32 weights):
  weights w·P (÷N at ZeRO-3); gradients w·T (÷N at ZeRO-2/3, plus a reduce bucket of min(T, 5e7) elements);
  Adam's two moments 8·T and DeepSpeed's fp32 master copy 4·T (ZeRO 1-3, or bf16 at ZeRO-0, which also keeps
  fp32 gradients 4·T), both ÷N at ZeRO 1-3. The optimizer step briefly allocates 4·T÷N more (DeepSpeed's
  flattened gradient partition), 16·T÷N with an unfused AdamW on the CPU (its temporaries on that partition;
  8·T÷N on a GPU, torch's foreach path). ZeRO-3 also holds the parameters it gathered from forward to
  backward: min(P, 1e9) elements with DeepSpeed's defaults (`ZERO3_LIVE_PARAMETERS`). Offloaded optimizer state and parameters leave the GPU for host memory
  (reported apart); on the CPU, offload moves nothing out of the process.
* **frozen models** (reference, reward, held-out reward): their weights (÷N when they are ZeRO-3 engines).
* **activations** of one micro batch of b sequences of s tokens, per token (measured on real Llama forwards with
  `torch.autograd.graph.saved_tensors_hooks`, `tests/alignment/test_memory_plan.py`): each layer saves
  8h + 2·kv + 4·I + heads + 2 values (h hidden, kv the key/value width, I the MLP width), 3h outside the
  layers; with activation checkpointing a layer keeps only its input h, plus one layer recomputed at a time.
  The LM head's logits are usually the biggest term: b·s·V for the logits, their log-softmax and their
  gradient (3·V floats per token, fp32 even in bf16 runs: HF upcasts before the loss).
* **generation**: the KV cache, 2·layers·kv·(prompt + new tokens) per sequence, and a step's logits.
* **runtime**: the process's own fixed cost. On CUDA: the context and kernels (`CUDA_CONTEXT_BYTES`, 0.5-1 GB
  by driver and GPU; 0.75 GB assumed) and the caching allocator's slack (`CUDA_ALLOCATOR_FACTOR` on every
  tensor term). On the CPU: the resident size of Python + torch + DeepSpeed + transformers (+ TRL) with a
  process group, measured on this machine (`CPU_RUNTIME_BYTES`, re-measured by `benchmarks/memory_plan.py`),
  and glibc's allocator slack (`CPU_ALLOCATOR_FACTOR`).

The peak is runtime + everything resident + the largest of the steps that do not overlap (one trained
model's micro batch, its optimizer step, one generation, one frozen model's scoring forward). The CUDA figures
are this formula, not a measurement (no GPU here); the CPU figures are checked against the measured peak RSS
of real runs (`benchmarks/memory_plan.py`, `tests/alignment/test_memory_plan.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alignment.memory_plan_model import LoRASettings, ModelShape, PlanInputError
from alignment.memory_plan_recipes import (
    Device,
    ModelRole,
    PlanOptions,
    Training,
    Workload,
    build_workload,
)
from stages.core.errors import UserError

GiB = 1024**3
CUDA_CONTEXT_BYTES = int(0.75 * GiB)
CUDA_ALLOCATOR_FACTOR = 1.10
# Measured on the project's 2-core CPU machine (benchmarks/memory_plan.py): a tiny-preset pretrain run peaks at
# ~660 MiB, of which its tensors are ~20 MiB. Of the rest, ~420 MiB is the imports, a gloo group and a DeepSpeed
# engine (`--runtime`); the remainder is the tokenizer, the dataset and the first step's library buffers.
# Rounded up by 5% so that noise between runs does not make the tiny runs under-estimates.
CPU_RUNTIME_BYTES = 672 * 1024**2
CPU_ALLOCATOR_FACTOR = 1.15
DEEPSPEED_BUCKET = 50_000_000
# ZeRO-3 keeps gathered parameters live up to `stage3_max_live_parameters`, and does not release one it will reuse
# within `stage3_max_reuse_distance` (both 1e9 by default, and our templates keep the defaults): below 1e9
# parameters a model is whole on every rank from its forward to its backward.
ZERO3_LIVE_PARAMETERS = 1_000_000_000
# Bytes per trainable parameter the optimizer step allocates for a moment. DeepSpeed hands Adam one flattened
# fp32 gradient partition (4 bytes); torch's unfused AdamW (our pretrain recipe's) adds its temporaries on that one
# big tensor (the denominator and the update): measured ~1.3 GiB over the resident state at the first step of the
# 85M-parameter `small` preset under ZeRO-2. The fused AdamW (TRL's default, PPO's) updates in place.
# On a GPU the unfused AdamW takes torch's foreach path, whose one temporary is the square root (formula, not
# measured: no GPU here).
UNFUSED_STEP_BYTES = {"cpu": 16, "cuda": 8}
FUSED_STEP_BYTES = 4


class PlanDoesNotFit(UserError):
    """A configuration whose predicted peak exceeds the memory it will get; the message says what fits."""


@dataclass(frozen=True)
class Term:
    """One line of the breakdown: `bytes` on the device of one process (`host` when offloaded off the GPU)."""

    component: str  # runtime, parameters, gradients, optimizer, activations, logits, kv_cache, ...
    model: str
    bytes: int
    phase: str = "resident"  # resident, or the transient phase it belongs to (train, generate, score)
    host: bool = False


@dataclass
class MemoryPlan:
    recipe: str
    device: Device
    workers: int
    workload: Workload
    terms: list[Term] = field(default_factory=list)

    def device_terms(self) -> list[Term]:
        return [term for term in self.terms if not term.host]

    def transient_bytes(self) -> dict[str, int]:
        """Bytes of each transient step, `phase model` (`train policy`, `score reward`...): one model's at a
        time, since a recipe trains, scores and generates with its models one after another."""
        steps: dict[str, int] = {}
        for term in self.device_terms():
            if term.phase != "resident":
                key = f"{term.phase} {term.model}"
                steps[key] = steps.get(key, 0) + term.bytes
        return steps

    @property
    def resident_bytes(self) -> int:
        return sum(term.bytes for term in self.device_terms() if term.phase == "resident")

    @property
    def peak_phase(self) -> str:
        steps = self.transient_bytes()
        return max(steps, key=steps.__getitem__) if steps else "resident"

    @property
    def peak_bytes_per_process(self) -> int:
        return self.resident_bytes + self.transient_bytes().get(self.peak_phase, 0)

    @property
    def host_bytes_per_process(self) -> int:
        return sum(term.bytes for term in self.terms if term.host)

    def parameters(self) -> dict[str, dict[str, int]]:
        """Per model: all parameters and the trainable ones."""
        lora = self.workload.training.lora if self.workload.training else None
        return {
            role.name: {"parameters": role.shape.parameters, "trainable": trainable(role, lora)}
            for role in self.workload.models
        }


def trainable(role: ModelRole, lora: LoRASettings | None) -> int:
    if not role.trained:
        return 0
    return lora.trainable(role.shape) if lora and role.adapted else role.shape.parameters


def weight_bytes(workload: Workload) -> int:
    """2 under DeepSpeed bf16; 4 otherwise (fp32, or the HF Trainer's autocast over fp32 weights)."""
    training = workload.training
    return 2 if workload.bf16 and (training is None or training.deepspeed) else 4


def trained_terms(
    role: ModelRole, training: Training, workload: Workload, device: Device, workers: int
) -> list[Term]:
    """Weights, gradients and optimizer state of one trained model, DeepSpeed's layout (module docstring)."""
    w = weight_bytes(workload)
    p, t = role.shape.parameters, trainable(role, training.lora)
    stage = training.zero_stage if training.deepspeed else 0
    shard = workers if stage >= 1 else 1
    gpu = device == "cuda"
    terms = [
        Term(
            "parameters",
            role.name,
            w * p // (workers if stage == 3 else 1),
            host=gpu and training.offload_parameters,
        )
    ]
    if stage == 3:
        gathered = min(p, ZERO3_LIVE_PARAMETERS)
        terms.append(Term("gathered parameters", role.name, w * gathered, phase="train"))
    gradients = w * t // (workers if stage >= 2 else 1)
    if stage >= 2:
        gradients += w * min(t, DEEPSPEED_BUCKET)
    terms.append(Term("gradients", role.name, gradients))
    keeps_master = training.deepspeed and (stage >= 1 or workload.bf16)
    offloaded = gpu and training.offload_optimizer and stage >= 1
    if keeps_master:
        terms.append(Term("fp32 master weights", role.name, 4 * t // shard, host=offloaded))
        if workload.bf16 and stage == 0:
            terms.append(Term("fp32 gradients", role.name, 4 * t))
    terms.append(Term("optimizer state", role.name, 8 * t // shard, host=offloaded))
    per_parameter = FUSED_STEP_BYTES if workload.fused_optimizer else UNFUSED_STEP_BYTES[device]
    if keeps_master:  # one flat fp32 partition: the step's temporaries are partition-sized
        step = per_parameter * t // shard
    else:  # torch's AdamW, one parameter at a time: temporaries of the largest parameter
        step = per_parameter * max(
            role.shape.vocab * role.shape.hidden, role.shape.hidden * role.shape.intermediate
        )
    terms.append(Term("optimizer step", role.name, step, phase="step", host=offloaded))
    return terms


def frozen_terms(role: ModelRole, workload: Workload, device: Device, workers: int) -> list[Term]:
    w = weight_bytes(workload)
    p = role.shape.parameters
    if not workload.frozen_partitioned:
        return [Term("frozen weights", role.name, w * p)]
    offloaded = device == "cuda" and workload.training is not None and workload.training.offload_parameters
    gathered = min(p, ZERO3_LIVE_PARAMETERS)
    return [
        Term("frozen weights", role.name, w * p // workers, host=offloaded),
        Term("gathered parameters", role.name, w * gathered, phase="score"),
    ]


def layer_values_per_token(shape: ModelShape, checkpointing: bool) -> int:
    """Values saved for backward per token by the decoder layers (module docstring; measured by the tests)."""
    layer = 8 * shape.hidden + 2 * shape.kv_dim + 4 * shape.intermediate + shape.heads + 2
    if checkpointing:
        return shape.layers * shape.hidden + layer
    return shape.layers * layer


def activation_terms(role: ModelRole, workload: Workload) -> list[Term]:
    """One micro batch's forward + backward of a trained model."""
    training = workload.training
    assert training is not None
    tokens = training.micro_batch * workload.sequence
    value = 2 if workload.bf16 else 4
    shape = role.shape
    saved = layer_values_per_token(shape, training.checkpointing) + 3 * shape.hidden
    terms = [Term("activations", role.name, value * tokens * saved, phase="train")]
    if shape.head == "lm":
        terms.append(Term("logits", role.name, 4 * 3 * tokens * shape.vocab, phase="train"))
    return terms


def scoring_terms(role: ModelRole, workload: Workload) -> list[Term]:
    """A frozen model's forward without gradients: one layer's tensors at a time (hidden state, q/k/v, the
    MLP's gate, up and product) and, for an LM, the logits with their fp32 upcast and log-softmax."""
    rows = workload.frozen_batch or (workload.training.micro_batch if workload.training else 1)
    tokens = rows * workload.sequence
    shape = role.shape
    value = 2 if workload.bf16 else 4
    per_token = value * (4 * shape.hidden + 2 * shape.kv_dim + 3 * shape.intermediate)
    if shape.head == "lm":
        per_token += (value + 8) * shape.vocab
    return [Term("scoring forward", role.name, tokens * per_token, phase="score")]


def generation_terms(workload: Workload) -> list[Term]:
    generation = workload.generation
    if generation is None:
        return []
    role = next(model for model in workload.models if model.name == generation.model)
    shape = role.shape
    length = generation.prompt + generation.new_tokens
    kv = 2 * shape.layers * shape.kv_dim * length * generation.batch * weight_bytes(workload)
    step = (
        4 * generation.batch * (2 * shape.vocab + generation.prompt * (shape.intermediate + 4 * shape.hidden))
    )
    return [
        Term("kv cache", role.name, kv, phase="generate"),
        Term("generation step", role.name, step, phase="generate"),
    ]


def merge_terms(workload: Workload, device: Device, tensors: list[Term]) -> list[Term]:
    """With LoRA, rank 0 writes the merged checkpoint at the end (`alignment.lora.merge_adapter`): it loads the
    adapter's base afresh in fp32 on the host, beside everything training still holds, and folds the adapter in.
    On the CPU that copy comes on top of the training step's peak, not in its place, as measured on the `small`
    preset (85M parameters): sft with LoRA peaked at 2,314 MiB, the training step's plan (1,957 MiB) plus the
    copy (planned as the training step alone it was 0.85 of the measured peak). The likely cause: the step's
    activations are freed into malloc arenas of the threads that made them, which the merge does not reuse."""
    training = workload.training
    if training is None or training.lora is None:
        return []
    terms = []
    for role in workload.models:
        if not (role.trained and role.adapted):
            continue
        terms.append(
            Term("merge: base loaded afresh", role.name, 4 * role.shape.parameters, "merge", host=device == "cuda")
        )
        if device == "cpu":
            held = sum(term.bytes for term in tensors if term.model == role.name and term.phase == "train")
            terms.append(Term("merge: training step's freed memory", role.name, held, "merge"))
    return terms


def runtime_bytes(device: Device) -> int:
    return CUDA_CONTEXT_BYTES if device == "cuda" else CPU_RUNTIME_BYTES


def estimate(workload: Workload, device: Device, workers: int) -> MemoryPlan:
    """The plan of `workload` on `workers` processes of `device`."""
    plan = MemoryPlan(workload.recipe, device, workers, workload)
    tensors: list[Term] = []
    for role in workload.models:
        if role.trained and workload.training is not None:
            tensors += trained_terms(role, workload.training, workload, device, workers)
            tensors += activation_terms(role, workload)
        else:
            tensors += frozen_terms(role, workload, device, workers)
            tensors += scoring_terms(role, workload)
    tensors += generation_terms(workload)
    tensors += merge_terms(workload, device, tensors)
    factor = CUDA_ALLOCATOR_FACTOR if device == "cuda" else CPU_ALLOCATOR_FACTOR
    plan.terms.append(Term("runtime", "process", runtime_bytes(device)))
    for term in tensors:
        slack = 1.0 if term.host else factor
        plan.terms.append(Term(term.component, term.model, int(term.bytes * slack), term.phase, term.host))
    return plan


def config_lora(config: Any) -> LoRASettings | None:
    """The recipe config's own `lora` section, once recipes have one (issue 17, part 1): PEFT's names."""
    section = getattr(config, "lora", None)
    if section is None:
        return None
    values = section.model_dump() if hasattr(section, "model_dump") else dict(section)
    if values.get("r") in (None, 0) or values.get("enabled") is False:
        return None
    return LoRASettings.from_values({key: values[key] for key in ("r", "target_modules") if key in values})


def plan_recipe(
    recipe: str,
    config: Any,
    *,
    device: Device = "cpu",
    workers: int | None = None,
    options: PlanOptions | None = None,
    lora: LoRASettings | None = None,
) -> MemoryPlan:
    """The memory plan of `recipe` run with `config` (its pydantic model) on `workers` processes."""
    if device not in ("cpu", "cuda"):
        raise PlanInputError(f"device must be cpu or cuda, got {device!r}")
    workers = workers or int(getattr(config, "num_workers", 1) or 1)
    if workers < 1:
        raise PlanInputError(f"workers must be at least 1, got {workers}")
    lora = lora or config_lora(config)
    workload = build_workload(recipe, config, device, workers, options or PlanOptions(), lora)
    return estimate(workload, device, workers)


def launch_device(config: Any) -> Device:
    """Where a launch of `config` trains: a GPU when it asks for one or this machine has one (the TRL recipes
    use it whenever there is one), else the CPU."""
    if getattr(config, "use_gpu", False):
        return "cuda"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def plan_options_from_inputs(recipe: str, inputs: list[Any]) -> PlanOptions | None:
    """What a launch's inputs tell the plan that its config does not: pretrain's row length and vocabulary,
    from its tokenized dataset's manifest (`seq_len`, `vocab_size`); None when they say nothing."""
    if recipe != "pretrain" or not inputs:
        return None
    from stages.core.manifest import ManifestError, read_manifest

    try:
        manifest = read_manifest(inputs[0])
    except (ManifestError, OSError):
        return None
    extra = manifest.extra if manifest is not None else {}
    if not isinstance(extra.get("seq_len"), int):
        return None
    vocabulary = extra.get("vocab_size")
    return PlanOptions(seq_length=extra["seq_len"], vocab_size=vocabulary if isinstance(vocabulary, int) else None)


def check_plan_fits(
    recipe: str,
    config: Any,
    device: Device | None = None,
    workers: int | None = None,
    memory_bytes: int | None = None,
    options: PlanOptions | None = None,
) -> None:
    """What a training launch calls first: raises `PlanDoesNotFit` (one line, exit 2 in the CLI) when the
    predicted peak per process exceeds `memory_bytes` (default: this machine's, `available_memory`). A plan
    that cannot be made (an unreadable model) does not block the launch: the launch reports that itself.
    `device` defaults to `launch_device(config)`, `workers` to the config's `num_workers`; `options` gives what
    the config does not say (pretrain's row length and vocabulary, from its tokenized dataset)."""
    from alignment.memory_plan_advice import cheapest_fixes, describe_fix
    from alignment.memory_plan_units import available_memory, format_bytes

    device = device or launch_device(config)
    try:
        plan = plan_recipe(recipe, config, device=device, workers=workers, options=options)
    except PlanInputError:
        return
    limit = memory_bytes if memory_bytes is not None else available_memory(device, plan.workers)
    if limit is None or plan.peak_bytes_per_process <= limit:
        return
    fixes = cheapest_fixes(plan, limit)
    hint = f"; cheapest fix: {describe_fix(fixes[0])}" if fixes else "; no single change found that fits"
    raise PlanDoesNotFit(
        f"{recipe} needs ~{format_bytes(plan.peak_bytes_per_process)} per process on {device}, "
        f"{format_bytes(limit)} available{hint} (see `lmforge plan {recipe}`; --no-plan to launch anyway)"
    )
