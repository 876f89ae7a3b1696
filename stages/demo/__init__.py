"""A built-in synthetic web corpus with a known ground truth: what `make run`, the tests and benchmarks start from."""

from stages.demo.config import DemoCorpusConfig
from stages.demo.corpus import demo_corpus_command, generate_demo_corpus
from stages.demo.ground_truth import DemoCorpusTruth
from stages.demo.shingles import true_jaccard

__all__ = [
    "DemoCorpusConfig",
    "DemoCorpusTruth",
    "demo_corpus_command",
    "generate_demo_corpus",
    "true_jaccard",
]
