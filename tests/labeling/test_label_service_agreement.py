"""Agreement figures against published and hand-computed values."""

from __future__ import annotations

import pytest

from labeling.agreement import cohen_kappa, krippendorff_alpha_nominal, pairwise_kappas


def test_cohen_kappa_matches_the_textbook_example() -> None:
    # Wikipedia's "Cohen's kappa" example: 50 proposals, yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 35/50 = 0.7; p_e = 0.5·0.6 + 0.5·0.4 = 0.5; kappa = 0.2 / 0.5 = 0.4.
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_edge_cases() -> None:
    assert cohen_kappa(["a", "b", "a"], ["a", "b", "a"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement is total: undefined
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError, match="same length"):
        cohen_kappa(["a"], ["a", "b"])


def test_krippendorff_alpha_matches_krippendorffs_worked_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: 4 observers,
    # 12 units, missing values; published alpha = 0.743.
    observers = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    units = [[str(row[unit]) for row in observers if row[unit] is not None] for unit in range(12)]
    assert krippendorff_alpha_nominal(units) == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_hand_computed_two_coders() -> None:
    # 10 units, two coders; 6 agree (4 keep/keep, 2 drop/drop), 4 disagree. Coincidences: o(k,d) = o(d,k) = 4,
    # n_keep = 12, n_drop = 8, n = 20: alpha = 1 - 19 · 8 / (2 · 12 · 8) = 1 - 152/192.
    first = ["keep"] * 6 + ["drop"] * 4
    second = ["keep"] * 4 + ["drop"] * 4 + ["keep"] * 2
    assert krippendorff_alpha_nominal(list(zip(first, second, strict=True))) == pytest.approx(1 - 152 / 192)
    assert cohen_kappa(first, second) == pytest.approx((0.6 - 0.52) / 0.48)


def test_krippendorff_alpha_edge_cases() -> None:
    assert krippendorff_alpha_nominal([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    assert krippendorff_alpha_nominal([["a", "a"], ["a", "a"]]) is None  # one category: undefined
    assert krippendorff_alpha_nominal([["a"], ["b"]]) is None  # nothing pairable


def test_pairwise_kappas_use_shared_items_only() -> None:
    rows = pairwise_kappas({"x": {1: "a", 2: "b", 3: "a"}, "y": {2: "b", 3: "a", 4: "a"}, "z": {9: "a"}})
    assert rows == [
        {"annotators": ["x", "y"], "shared_items": 2, "observed_agreement": 1.0, "kappa": pytest.approx(1.0)}
    ]
