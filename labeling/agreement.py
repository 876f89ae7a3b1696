"""Inter-annotator agreement on nominal labels: Cohen's kappa for two annotators, Krippendorff's alpha for many.

Both take labels as plain category strings (`a`, `b`, `tie`, `both_bad`, `keep`, `drop`; skips are left out by
the caller). Either is `None` when undefined: kappa when chance agreement is total (both annotators used one
and the same category), alpha when fewer than two values can be paired or only one category occurs.

* Cohen's kappa = (p_o − p_e) / (1 − p_e), p_o the observed agreement over the shared items and p_e the
  agreement expected from each annotator's own category frequencies.
* Krippendorff's alpha (nominal) = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k over the coincidence matrix
  o of all pairable values (units with at least two values; each unit with m values adds 1/(m − 1) per
  ordered pair of its values), n_c its marginals and n the number of pairable values. It handles any number of
  annotators and missing labels.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from itertools import combinations, permutations


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Kappa of two annotators' labels on the same items, in the same order."""
    if len(first) != len(second):
        raise ValueError("cohen_kappa needs two label sequences of the same length")
    total = len(first)
    if total == 0:
        return None
    observed = sum(left == right for left, right in zip(first, second, strict=True)) / total
    first_counts, second_counts = Counter(first), Counter(second)
    expected = sum(first_counts[category] * second_counts[category] for category in first_counts) / total**2
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def krippendorff_alpha_nominal(units: Iterable[Sequence[str]]) -> float | None:
    """Alpha over units (items), each the list of values its annotators gave (any number, skips left out)."""
    coincidences: defaultdict[tuple[str, str], float] = defaultdict(float)
    for values in units:
        count = len(values)
        if count < 2:
            continue
        for left, right in permutations(values, 2):
            coincidences[(left, right)] += 1.0 / (count - 1)
    marginals: Counter[str] = Counter()
    for (left, _right), weight in coincidences.items():
        marginals[left] += weight
    pairable = sum(marginals.values())
    if pairable < 2 or len(marginals) < 2:
        return None
    observed_disagreement = sum(weight for (left, right), weight in coincidences.items() if left != right)
    expected_disagreement = sum(
        marginals[left] * marginals[right] for left in marginals for right in marginals if left != right
    )
    return 1.0 - (pairable - 1) * observed_disagreement / expected_disagreement


def pairwise_kappas(
    labels: Mapping[str, Mapping[Hashable, str]],
) -> list[dict[str, object]]:
    """Cohen's kappa for every pair of annotators on the items both labelled: `labels[annotator][item]`."""
    rows: list[dict[str, object]] = []
    for first, second in combinations(sorted(labels), 2):
        shared = sorted(set(labels[first]) & set(labels[second]), key=str)
        if not shared:
            continue
        first_labels = [labels[first][item] for item in shared]
        second_labels = [labels[second][item] for item in shared]
        rows.append(
            {
                "annotators": [first, second],
                "shared_items": len(shared),
                "observed_agreement": sum(
                    left == right for left, right in zip(first_labels, second_labels, strict=True)
                )
                / len(shared),
                "kappa": cohen_kappa(first_labels, second_labels),
            }
        )
    return rows
