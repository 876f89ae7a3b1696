"""Train the Chinese spam classifier (stages/clean/spam_model_zh.npz) on the `dev` half of the labelled pages.

    .venv/bin/python benchmarks/zh_spam_train.py            # cross-validate, train, write the model
    .venv/bin/python benchmarks/zh_spam_train.py --check    # fail if the shipped model differs from a retrain
    .venv/bin/python benchmarks/zh_spam_train.py --cv-only  # print the cross-validation figures, write nothing

Only `dev` pages (even indices of tests/stages/clean/data/zh_spam_labels.jsonl) are read, with the further
training pages of zh_spam_labels_extra.jsonl: labels gambling, adult and spam are positives, good negatives;
error_or_parked pages are not the target and are left out. The even half of the hand-annotated magic-html main
texts joins as more good pages (`prose_pages`); they do not count towards the 3% below. The L2
strength and the threshold are chosen by 5-fold cross-validation on dev (folds by index, so deterministic): the
threshold is the lowest out-of-fold probability that drops at most MAX_GOOD_DROPPED (3%) of the good pages the
URL blocklist and word lists keep, leaving room under the issue's 5% for pages never seen. The held-out half is
measured by benchmarks/zh_spam.py and the tests, never here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.zh_corpus import HPLT_PAGES, hplt_pages, magic_html_documents  # noqa: E402
from benchmarks.zh_spam import DATA, UNWANTED, labelled_pages, spam_filter_reasons  # noqa: E402
from stages.clean.config import ToxicityConfig  # noqa: E402
from stages.clean.spam_classifier import MODEL_FILE, SpamClassifier  # noqa: E402
from stages.clean.spam_features import HASH_BITS, page_features  # noqa: E402
from stages.label.logistic_regression import fit_logistic_regression  # noqa: E402

EXTRA_LABELS = "zh_spam_labels_extra.jsonl"
MODEL_PATH = REPO_ROOT / "stages" / "clean" / MODEL_FILE
L2_CHOICES = (1e-5, 3e-5, 1e-4, 3e-4)
"""1e-5 and 3e-5 were added with the URL rule for unpronounceable subdomains: out of fold, 1e-5 then dropped
87.9% of the training spam against 87.3% at the earlier choice, 1e-4 (good pages 2.7% at each)."""
FOLDS = 5
MAX_GOOD_DROPPED = 0.03


def extra_pages() -> list[tuple[dict, str]]:
    """The further labelled pages (zh_spam_labels_extra.jsonl: lines 400+ of the same HPLT sample, read and
    labelled the same way), with their text from the shared copy of the sample; none where it is not here."""
    if not HPLT_PAGES.is_file():
        print(f"note: {HPLT_PAGES} is not here, training on the dev pages only")
        return []
    texts = hplt_pages()
    rows = [json.loads(line) for line in (DATA / EXTRA_LABELS).read_text("utf-8").splitlines()]
    return [(row, texts[row["index"]].text) for row in rows]


PROSE_INDEX_BASE = 100_000
"""Training rows of the prose pages get indices from here (folds are by index; the crawl pages' are under 1,000)."""


def prose_pages() -> list[tuple[dict, str]]:
    """Good examples that are not crawl pages: the hand-annotated Chinese main texts of magic-html with an even
    index (the half benchmarks/derive_zh_rules.py derives the zh rules on; the odd half stays held out for
    benchmarks/clean_zh.py and the prose figure of benchmarks/zh_spam.py). Without them the model, at its
    cross-validated regularisation, scored a real Federal Reserve news article as spam (finance spam among the
    training pages reads like it); none where ../shared is not here."""
    documents = magic_html_documents()[0::2]
    return [
        ({"index": PROSE_INDEX_BASE + index, "label": "good", "split": "prose", "url": ""}, document.text)
        for index, document in enumerate(documents)
    ]


def feature_matrix(texts: list[str]) -> sp.csr_matrix:
    """One row per page (a column repeated within a row is summed, as the classifier sums it)."""
    rows = [page_features(text) for text in texts]
    row_of = np.repeat(np.arange(len(rows)), [len(row.columns) for row in rows])
    columns = np.concatenate([row.columns for row in rows])
    values = np.concatenate([row.values for row in rows])
    return sp.csr_matrix((values, (row_of, columns)), shape=(len(texts), 2**HASH_BITS))


def fitted(features: sp.csr_matrix, labels: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    fit = fit_logistic_regression(features, labels, l2, max_iterations=500)
    return fit.weights, fit.bias


def out_of_fold(features: sp.csr_matrix, labels: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    """Each page's probability from the model trained on the other folds."""
    probabilities = np.zeros(len(labels))
    for fold in range(FOLDS):
        test = folds == fold
        weights, bias = fitted(features[~test], labels[~test], l2)
        probabilities[test] = 1 / (1 + np.exp(-(features[test] @ weights + bias)))
    return probabilities


def threshold_for(
    probabilities: np.ndarray, labels: np.ndarray, caught: np.ndarray, crawl: np.ndarray | None = None
) -> float:
    """The lowest threshold at which at most MAX_GOOD_DROPPED of the good crawl pages (`crawl`; default: every
    page) are dropped by rules or model."""
    good = (labels == 0) & (crawl if crawl is not None else True)
    allowed = int(MAX_GOOD_DROPPED * good.sum()) - int((caught & good).sum())
    candidates = np.sort(probabilities[good & ~caught])[::-1]
    if allowed < 0:
        return 1.0
    # Just above the (allowed+1)-th highest good probability.
    return float(np.nextafter(candidates[allowed], 1.0)) if allowed < len(candidates) else 0.5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="retrain and compare with the shipped model")
    parser.add_argument("--cv-only", action="store_true", help="cross-validate only")
    args = parser.parse_args(argv)

    pages = [(label, text) for label, text in labelled_pages() if label["split"] == "dev"] + extra_pages()
    pages = [(label, text) for label, text in pages if label["label"] == "good" or label["label"] in UNWANTED]
    pages += prose_pages()
    print(
        f"training pages: {len(pages)} ({sum(label['split'] == 'dev' for label, _ in pages)} dev, "
        f"{sum(label['split'] == 'prose' for label, _ in pages)} prose)"
    )
    labels = np.array([label["label"] in UNWANTED for label, _ in pages], dtype=np.int64)
    folds = np.array([(label["index"] // 2) % FOLDS for label, _ in pages])
    dev = np.array([label["split"] == "dev" for label, _ in pages])
    crawl = np.array([label["split"] != "prose" for label, _ in pages])
    # What the URL blocklist and the word lists drop already (the classifier switched off).
    rules = spam_filter_reasons(pages, toxicity=ToxicityConfig(spam_classifier=False))
    caught = np.array([reason is not None for reason in rules])
    features = feature_matrix([text for _, text in pages])

    best: tuple[float, float, float] | None = None
    for l2 in L2_CHOICES:
        probabilities = out_of_fold(features, labels, folds, l2)
        threshold = threshold_for(probabilities, labels, caught, crawl)
        dropped = caught | (probabilities >= threshold)
        recall = dropped[labels == 1].mean()
        good_lost = dropped[crawl & (labels == 0)].mean()
        prose_lost = int(dropped[~crawl].sum())
        dev_recall = dropped[dev & (labels == 1)].mean()
        dev_good = dropped[dev & (labels == 0)].mean()
        print(
            f"l2={l2:g}: threshold {threshold:.3f}, out-of-fold unwanted dropped {recall:.1%}, good {good_lost:.1%}"
            f" (dev pages: {dev_recall:.1%}, {dev_good:.1%}), prose pages dropped {prose_lost}/{int((~crawl).sum())}"
        )
        if best is None or recall > best[0]:
            best = (recall, l2, threshold)
    assert best is not None
    recall, l2, threshold = best
    print(f"chosen: l2={l2:g}, threshold {threshold:.3f} (out-of-fold unwanted dropped {recall:.1%})")
    if args.cv_only:
        return 0

    weights, bias = fitted(features, labels, l2)
    model = SpamClassifier(weights.astype(np.float32), bias, threshold)
    if args.check:
        shipped = SpamClassifier.load(MODEL_PATH)
        same = (
            np.allclose(shipped.weights, model.weights, atol=1e-5)
            and abs(shipped.threshold - threshold) < 1e-6
        )
        print("shipped model matches a retrain" if same else "shipped model differs from a retrain")
        return 0 if same else 1
    model.save(MODEL_PATH)
    print(f"wrote {MODEL_PATH.relative_to(REPO_ROOT)} ({MODEL_PATH.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
