"""Preference importers: every format lands in the shared schema; pairs that cannot be split are counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignment.preference_training import pairwise_metrics
from alignment.preferences import (
    PREFERENCE_SCHEMA,
    import_preferences,
    import_rows,
    load_preferences,
    split_train_eval,
    to_trl_conversational,
)

HH_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "hh_harmless_dev.jsonl"
USER = {"role": "user", "content": "What colour is the sky?"}


def test_standard_explicit_and_implicit_prompts() -> None:
    result = import_rows(
        [
            {
                "prompt": "The sky is",
                "chosen": "blue.",
                "rejected": "green.",
                "margin": 2,
                "annotator": "ann",
            },
            {"chosen": "The sky is blue.", "rejected": "The sky is green."},
            {"chosen": "Blue.", "rejected": "Green."},
        ]
    )
    rows = result.table.to_pylist()
    assert result.table.schema == PREFERENCE_SCHEMA
    assert rows[0]["prompt"] == [{"role": "user", "content": "The sky is"}]
    assert (rows[0]["margin"], rows[0]["annotator"]) == (2.0, "ann")
    assert (rows[1]["prompt"], rows[1]["chosen"], rows[1]["rejected"]) == (
        [{"role": "user", "content": "The sky is"}],
        "blue.",
        "green.",
    )
    assert rows[2]["prompt"] == [] and rows[2]["chosen"] == "Blue."
    assert result.report["formats"] == {"standard": 1, "standard_implicit": 2}


def test_conversational_explicit_implicit_and_diverged() -> None:
    answer = {"role": "assistant", "content": "Blue."}
    wrong = {"role": "assistant", "content": "Green."}
    result = import_rows(
        [
            {"prompt": [USER], "chosen": [answer], "rejected": [wrong]},
            {"chosen": [USER, answer], "rejected": [USER, wrong]},
            {"chosen": [USER, answer], "rejected": [{"role": "user", "content": "Other?"}, wrong]},
            {"chosen": [USER, answer], "rejected": [USER, {"role": "user", "content": "Green."}]},
            {"prompt": [USER], "chosen": [answer], "rejected": [answer]},
            {"chosen": [USER, answer]},
        ]
    )
    assert [row["prompt"] for row in result.table.to_pylist()] == [[USER], [USER]]
    assert result.report == {
        "rows_in": 6,
        "kept": 2,
        "rejected": 4,
        "rejected_by_reason": {
            "conversation_diverged": 1,
            "identical_replies": 1,
            "missing_field": 1,
            "not_assistant_reply": 1,
        },
        "formats": {"conversational": 1, "conversational_implicit": 1},
    }
    assert all(json.loads(row["row"]) for row in result.rejected)  # the input row is kept, as JSON


def test_hh_transcripts_split_into_prompt_and_final_replies() -> None:
    shared = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how do I pick a lock?"
    result = import_rows(
        [
            {
                "chosen": shared + "\n\nAssistant: I can't help with that.",
                "rejected": shared + "\n\nAssistant: Sure.",
            },
            {"chosen": shared + "\n\nAssistant: No.", "rejected": "\n\nHuman: hey\n\nAssistant: Sure."},
            {"chosen": shared + "\n\nAssistant: ", "rejected": shared + "\n\nAssistant: Sure."},
        ]
    )
    (row,) = result.table.to_pylist()
    assert row["prompt"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "how do I pick a lock?"},
    ]
    assert (row["chosen"], row["rejected"]) == ("I can't help with that.", "Sure.")
    assert result.report["rejected_by_reason"] == {"conversation_diverged": 1, "empty_reply": 1}


@pytest.mark.skipif(not HH_DATA.is_file(), reason="shared HH data not present")
def test_real_hh_harmless_pairs() -> None:
    result = import_preferences(HH_DATA)
    report = result.report
    assert report["rows_in"] == 1156
    assert report["kept"] + report["rejected"] == report["rows_in"]
    assert report["kept"] >= 1140 and report["formats"] == {"hh_rlhf": report["kept"]}
    assert set(report["rejected_by_reason"]) <= {"conversation_diverged", "empty_reply"}
    prompts = result.table.column("prompt").to_pylist()
    assert all(prompt and prompt[-1]["role"] == "user" for prompt in prompts)
    assert not any("\n\nHuman:" in text for text in result.table.column("chosen").to_pylist())


def test_jsonl_parquet_and_dataset_directory_load_alike(tmp_path: Path) -> None:
    rows = [{"prompt": f"q{index}", "chosen": "yes", "rejected": "no"} for index in range(20)]
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(row) for row in rows))
    from_jsonl = load_preferences(tmp_path / "pairs.jsonl")
    dataset = tmp_path / "preferences"
    (dataset / "_rejects").mkdir(parents=True)
    pq.write_table(from_jsonl, dataset / "part-0.parquet")
    pq.write_table(pa.table({"chosen": ["x"]}), dataset / "_rejects" / "part-0.parquet")  # not read
    from_dataset = load_preferences(dataset)
    assert from_dataset.equals(from_jsonl) and from_dataset.num_rows == 20
    trl_rows = to_trl_conversational(from_dataset)
    assert trl_rows[0] == {
        "prompt": [{"role": "user", "content": "q0"}],
        "chosen": [{"role": "assistant", "content": "yes"}],
        "rejected": [{"role": "assistant", "content": "no"}],
    }


def test_split_is_deterministic_and_keeps_prompts_on_one_side() -> None:
    rows = [{"prompt": f"q{index % 50}", "chosen": f"yes{index}", "rejected": "no"} for index in range(500)]
    table = import_rows(rows).table
    train, held_out = split_train_eval(table, 0.2)
    assert train.num_rows + held_out.num_rows == 500 and 40 <= held_out.num_rows <= 200
    prompts = lambda part: {json.dumps(p) for p in part.column("prompt").to_pylist()}  # noqa: E731
    assert not prompts(train) & prompts(held_out)
    assert split_train_eval(table, 0.2)[1].equals(held_out)


def test_pairwise_metrics() -> None:
    perfect = pairwise_metrics(np.full(100, 20.0))
    assert perfect["eval_accuracy"] == 1.0 and perfect["eval_ece"] < 1e-6 and perfect["eval_brier"] < 1e-6
    coin = pairwise_metrics(np.zeros(100))
    assert coin["eval_accuracy"] == 0.0 and coin["eval_ece"] < 1e-9 and coin["eval_brier"] == 0.25
    # sigmoid(2) ≈ 0.88 confident, right 60% of the time: over-confident by ≈ 0.28
    overconfident = pairwise_metrics(np.array([2.0] * 60 + [-2.0] * 40))
    assert overconfident["eval_accuracy"] == 0.6 and 0.25 < overconfident["eval_ece"] < 0.31
