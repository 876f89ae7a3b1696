"""Reward model vs two baselines on held-out HH-RLHF (harmless) pairs, all computed in one run.

    .venv/bin/python benchmarks/reward_hh.py [--data ../shared/data/hh_harmless_dev.jsonl] [--epochs 2]

The pairs are split by prompt hash (`eval_fraction` held out). Baselines, fitted on the training part only:

* length: pick the longer (or shorter, whichever wins more often on train) reply, by words; ties score 0.5;
* bag of words: logistic regression without intercept on presence(chosen words) − presence(rejected words),
  L2-regularised, fitted with L-BFGS (scipy) over the 5,000 most frequent training words.

The reward model is `alignment.reward` from scratch on the `tiny` preset (nothing downloaded).
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import optimize, sparse

from alignment.preferences import import_preferences, split_train_eval
from alignment.reward import RewardModelConfig, run_reward

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh_harmless_dev.jsonl"
_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def length_baseline(train: pa.Table, held_out: pa.Table) -> tuple[float, str]:
    def differences(table: pa.Table) -> np.ndarray:
        chosen, rejected = table.column("chosen").to_pylist(), table.column("rejected").to_pylist()
        return np.sign([len(words(a)) - len(words(b)) for a, b in zip(chosen, rejected, strict=True)])

    direction = 1.0 if (differences(train) > 0).mean() >= (differences(train) < 0).mean() else -1.0
    scored = differences(held_out) * direction
    return float((scored > 0).mean() + 0.5 * (scored == 0).mean()), "longer" if direction > 0 else "shorter"


def bag_of_words_baseline(train: pa.Table, held_out: pa.Table, vocabulary_size: int, l2: float) -> float:
    counts = Counter(
        word
        for column in ("chosen", "rejected")
        for text in train.column(column).to_pylist()
        for word in set(words(text))
    )
    index = {word: position for position, (word, _) in enumerate(counts.most_common(vocabulary_size))}

    def features(table: pa.Table) -> sparse.csr_matrix:
        rows, columns, values = [], [], []
        for row, (chosen, rejected) in enumerate(
            zip(table.column("chosen").to_pylist(), table.column("rejected").to_pylist(), strict=True)
        ):
            for sign, text in ((1.0, chosen), (-1.0, rejected)):
                for word in set(words(text)):
                    if word in index:
                        rows.append(row)
                        columns.append(index[word])
                        values.append(sign)
        return sparse.csr_matrix((values, (rows, columns)), shape=(table.num_rows, len(index)))

    x_train = features(train)

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        scores = x_train @ weights  # every label is "chosen wins": minimise Σ log(1 + e^(−score))
        value = np.logaddexp(0.0, -scores).sum() + l2 * weights @ weights
        gradient = -(x_train.T @ (1.0 / (1.0 + np.exp(scores)))) + 2 * l2 * weights
        return float(value), gradient

    fitted = optimize.minimize(loss, np.zeros(len(index)), jac=True, method="L-BFGS-B").x
    scores = features(held_out) @ fitted
    return float((scores > 0).mean() + 0.5 * (scores == 0).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--eval-fraction", type=float, default=0.2)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--l2", type=float, default=1.0)
    arguments = parser.parse_args()

    imported = import_preferences(arguments.data)
    train, held_out = split_train_eval(imported.table, arguments.eval_fraction)
    print(f"pairs: {imported.report}; train {train.num_rows}, held out {held_out.num_rows}")
    length_accuracy, direction = length_baseline(train, held_out)
    bow_accuracy = bag_of_words_baseline(train, held_out, 5000, arguments.l2)
    with tempfile.TemporaryDirectory() as scratch:
        paths = {}
        for name, table in (("train", train), ("eval", held_out)):
            paths[name] = Path(scratch) / f"{name}.jsonl"
            paths[name].write_text("\n".join(json.dumps(row) for row in table.to_pylist()))
        config = RewardModelConfig(
            eval_path=str(paths["eval"]),
            epochs=arguments.epochs,
            max_length=arguments.max_length,
            learning_rate=arguments.learning_rate,
            vocab_size=4096,
        )
        started = time.perf_counter()
        metrics = run_reward(config, [paths["train"]], Path(scratch) / "rm", executor="local")
        seconds = time.perf_counter() - started
    print(f"\n{'model':<44} {'held-out accuracy':>18}")
    print(f"{'response length (' + direction + ' wins)':<44} {length_accuracy:>18.3f}")
    print(f"{'bag-of-words logistic regression':<44} {bow_accuracy:>18.3f}")
    print(f"{'reward model (tiny, from scratch)':<44} {metrics['eval_accuracy']:>18.3f}")
    print(
        f"\nreward model: {metrics['steps']} steps in {seconds:.0f}s, eval mean margin "
        f"{metrics['eval_mean_margin']:.3f}, ECE {metrics['eval_ece']:.3f}, Brier {metrics['eval_brier']:.3f}"
    )


if __name__ == "__main__":
    main()
