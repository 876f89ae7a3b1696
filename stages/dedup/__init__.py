"""Exact and MinHash-LSH near-duplicate removal, in phases: signatures → band keys → candidate edges →
verified edges → connected components → one representative kept per component."""
