"""The default settings of the clean rules for Japanese (`clean.languages.ja`), and where each comes from.

Values marked "derived" are printed by `benchmarks/derive_ja_rules.py`, which recomputes them from the Japanese
text on this machine (Debian's `ja` catalogues with their English originals: 3,712 message pairs, and 69 prose
paragraphs of 100+ characters; 68 more are held out for the tests) and fails with `--check` when these values
drift from it. Words are MeCab's with UniDic (`stages.text.japanese_words`). The method is the zh one
(stages/clean/chinese_defaults.py): each threshold is the laxer of the English threshold carried over to the same
content in Japanese (medians of Japanese-over-English ratios: words 1.471, mean word length 0.434, share of
words without a letter 0.769, characters 0.600) and the value that removes at most 2% of the reference
paragraphs. There is no Japanese web crawl on this machine, so the phrase lists are not measured: they are C4's
policy and copyright lines in their usual Japanese wording.
"""

from __future__ import annotations

# Derived: the catalogues' most frequent particles (の, を, は); with these three the translations of messages of
# 50+ English words pass the two-stop-word rule as often as the English originals (94.5%), and at most 2% of
# the reference paragraphs fail it.
STOP_WORDS = ("の", "を", "は")

# Derived: 50 × 1.471 = 73.5 words would drop short prose: a 100-character paragraph at the 2nd percentile of word
# density has 28.4 words.
MIN_WORDS = 28
MAX_WORDS = 147_059  # 100,000 × 1.471
MIN_MEAN_WORD_LENGTH = 1.3  # 3 × 0.434 (the 2nd percentile, 1.67, is stricter)
MAX_MEAN_WORD_LENGTH = 4.35  # 10 × 0.434 (the 98th percentile, 2.93, is stricter)
# Derived: 1 - 0.2 × 0.769 = 0.85 would remove more than 2% of the reference paragraphs; their 2nd percentile is
# 0.71.
MIN_ALPHA_WORD_FRACTION = 0.7
# Derived: English's n-gram limits, or the 98th percentile of the reference paragraphs where that is higher.
MAX_TOP_NGRAM_CHAR_FRACTION = {2: 0.2, 3: 0.19, 4: 0.28}
MAX_DUPLICATE_NGRAM_CHAR_FRACTION = {5: 0.2, 6: 0.15, 7: 0.14, 8: 0.16, 9: 0.11, 10: 0.12}
SHORT_LINE_MAX_CHARACTERS = 18  # 30 × 0.600
MAX_NEWLINE_WORD_RATIO = 0.2  # 0.3 / 1.471
MIN_WORDS_PER_LINE = 4  # 3 × 1.471, rounded (the 2nd percentile of a reference paragraph's words is 29)
MIN_SENTENCES = 1  # the 2nd percentile of a reference paragraph's sentences

# Derived: the sentence-final marks that end at least 0.2% of the reference lines (`。`, `!`) and their other
# widths (`｡`, `！`, `﹗`); C4 has `.!?"'` already.
C4_LINE_ENDS = ("。", "﹗", "！", "｡")
FINEWEB_LINE_ENDS: tuple[str, ...] = ()  # FineWeb's list already holds `。` and `!`
# Chosen, not derived (the catalogues quote with 「」 but never end a line with it): Japanese closes a quoted
# sentence with 」 or 』 and no full stop after it (`「ありがとう」`), the way English ends one with a quote mark.
QUOTE_LINE_ENDS = ("」", "』")

# Chosen: C4's policy phrases, and their usual Japanese wording.
POLICY_PHRASES = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
    "プライバシーポリシー", "個人情報保護方針", "利用規約", "クッキーポリシー", "クッキーを使用",
)  # fmt: skip

# Chosen: copyright and reprint lines, matched in lower case anywhere in a line (`著作権` alone is left out: prose
# about copyright holds it).
BOILERPLATE_PHRASES = ("copyright", "all rights reserved", "©", "無断転載", "無断複製", "著作権所有")
