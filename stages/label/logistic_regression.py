"""Binary logistic regression with an L2 penalty, fitted by L-BFGS (scipy), and the measures we report for it.

Small enough to own: a loss, its gradient and one `scipy.optimize.minimize` call, deterministic for a given
input. Classes are weighted to count equally, because passed documents usually far outnumber failed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit


@dataclass(frozen=True)
class LogisticRegressionFit:
    weights: np.ndarray
    bias: float
    iterations: int
    converged: bool


def balanced_sample_weights(labels: np.ndarray) -> np.ndarray:
    """Weights that give each class the same total, summing to 1 overall."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    return np.where(labels == 1, 0.5 / max(positives, 1), 0.5 / max(negatives, 1))


def fit_logistic_regression(
    features: sp.csr_matrix, labels: np.ndarray, l2: float, max_iterations: int = 300
) -> LogisticRegressionFit:
    """Minimise the class-balanced mean log loss plus l2/2 * |w|^2 (the bias is not penalised)."""
    signs = np.where(labels == 1, 1.0, -1.0)
    sample_weights = balanced_sample_weights(labels)
    transposed = features.T.tocsr()

    def loss_and_gradient(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = parameters[:-1], parameters[-1]
        margins = signs * (features @ weights + bias)
        loss = float(sample_weights @ np.logaddexp(0.0, -margins)) + 0.5 * l2 * float(weights @ weights)
        slope = -sample_weights * signs * expit(-margins)
        gradient = np.empty_like(parameters)
        gradient[:-1] = transposed @ slope + l2 * weights
        gradient[-1] = slope.sum()
        return loss, gradient

    result = minimize(
        loss_and_gradient,
        np.zeros(features.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iterations},
    )
    return LogisticRegressionFit(
        weights=result.x[:-1].copy(),
        bias=float(result.x[-1]),
        iterations=int(result.nit),
        converged=bool(result.success),
    )


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve (the Mann-Whitney U statistic, ties counting half); None with one class only."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    from scipy.stats import rankdata  # scipy.stats costs 0.3 s to import: only when an AUC is asked for

    ranks = rankdata(scores)
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def accuracy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of documents on the right side of 0.5."""
    return float(np.mean((probabilities >= 0.5) == (labels == 1))) if len(labels) else float("nan")


def balanced_accuracy(labels: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean of the per-class accuracies: 0.5 is chance whatever the class balance (plain accuracy's chance
    level is the majority share, 0.9 when nine documents in ten passed the rules)."""
    correct = (probabilities >= 0.5) == (labels == 1)
    return float(np.mean([correct[labels == value].mean() for value in (0, 1) if (labels == value).any()]))
