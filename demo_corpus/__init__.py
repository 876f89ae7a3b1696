"""A built-in synthetic web corpus with a known ground truth: what `make run`, the tests and benchmarks start from."""

from demo_corpus.config import DemoCorpusConfig
from demo_corpus.corpus import demo_corpus_command, generate_demo_corpus
from demo_corpus.ground_truth import DemoCorpusTruth
from demo_corpus.shingles import true_jaccard

__all__ = [
    "DemoCorpusConfig",
    "DemoCorpusTruth",
    "demo_corpus_command",
    "generate_demo_corpus",
    "true_jaccard",
]
