"""The tiny pipeline config the flow and report tests share: every training step a few steps of the tiny
model, since those tests are about orchestration and rendering, not learning."""

TINY_TRAINING = {
    "tokenize": {"vocab_size": 512, "seq_len": 64},
    "pretrain": {"max_steps": 3, "micro_batch_size": 2, "eval_max_rows": 8, "warmup_steps": 1},
    "sft": {
        "max_steps": 2,
        "micro_batch_size": 2,
        "eval_max_examples": 8,
        "warmup_steps": 0,
        "max_length": 256,
    },
    "preferences": {"max_prompts": 24, "samples_per_prompt": 3, "max_new_tokens": 4, "eval_fraction": 0.3},
    "reward": {"max_steps": 2, "batch_size": 4, "use_deepspeed": False},
    "dpo": {"max_steps": 2, "batch_size": 4, "use_deepspeed": False},
    "ppo": {
        "max_steps": 2,
        "rollout_batch_size": 4,
        "mini_batch_size": 4,
        "ppo_epochs": 1,
        "max_completion_length": 4,
        "eval_prompts": 4,
        "eval_every": 0,
    },
    "grpo": {
        "max_steps": 2,
        "batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 4,
        "eval_prompts": 4,
        "use_deepspeed": False,
    },
    "evaluate": {"max_prompts": 8, "samples_per_prompt": 1, "max_new_tokens": 4},
}
