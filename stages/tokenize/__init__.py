"""Tokenize + pack: documents → fixed-length packed token sequences (with the tokenizer that made them)."""
