"""Word-list toxicity: the cheap first line against obscene, adult and gambling pages, before any learned
classifier (label stage).

The list is chosen by the document's language (ISO 639-1, from the language-id step). English, and every
language without a built-in list of its own, matches whole lowercased words (`DocumentView.words`), as the C4
recipe did. Chinese is written without spaces, so word tokens do not exist there: its lists (obscene/adult and
gambling) are matched as substrings, leftmost-longest and without overlaps, in one regular expression compiled
as a character trie, and the density rule counts matched Han characters against all Han characters of the page
(a word count has no meaning without segmentation). See stages/clean/toxic_words_zh.txt and
stages/clean/gambling_words_zh.txt for where the lists come from.

Two more Chinese rules, measured on the labelled crawl pages (benchmarks/zh_spam.py): two matches of one list in
a page's title (its first line) drop it, because spam planted on a long ordinary page stuffs the title and is
diluted below the density rule everywhere else; and a page the lists keep is scored by the spam classifier
(stages/clean/spam_classifier.py, `toxicity:spam_classifier`), for the SEO spam that holds no listed word at all
(spun babble, generated keyword directories, fake-invoice and private-server farms).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from stages.clean.config import ToxicityConfig
from stages.clean.document_view import DocumentView
from stages.clean.domain_blocklist import read_list_file
from stages.clean.drop import Drop
from stages.clean.spam_classifier import SpamClassifier, builtin_classifier

BUILTIN_LIST = "toxic_words.txt"
"""The English list; the label stage's toxicity score reads it too."""

OBSCENE = "word_list"
GAMBLING = "gambling"
SPAM_CLASSIFIER = "spam_classifier"

SUBSTRING_LISTS: dict[str, dict[str, str]] = {
    "zh": {OBSCENE: "toxic_words_zh.txt", GAMBLING: "gambling_words_zh.txt"},
}
"""Built-in lists of the languages written without spaces, by language and reason: matched as substrings."""

SPAM_CLASSIFIER_LANGUAGES = frozenset({"zh"})
"""Languages the built-in spam classifier was trained for (stages/clean/spam_classifier.py)."""

HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]+")
"""Runs of Han characters (CJK unified ideographs, extension A, compatibility ideographs, extensions B and up):
the denominator of the Chinese density rule. Counting runs is about 2x faster than counting single matches."""

SIMPLIFIED_TO_TRADITIONAL = str.maketrans(
    "丝个乐乱亚优会传伦体儿兰册军几动区卖双图场坛奖妇妈娱学宝宾岛干库开强录术机杀枫样桥欧泷泽湿烂爱玛现瘪"
    "盘码秽窥级约结缝网胆艳艺苍茎荡药萝袜裤视讯记论诈诱说财货贱贼资赌赔轮钱铁铲门阳阴际频颜颤飞饭马验骚鱼"
    "鸡鸭黄龟时报扑国奸注电无撸气樱头懒内户",
    "絲個樂亂亞優會傳倫體兒蘭冊軍幾動區賣雙圖場壇獎婦媽娛學寶賓島幹庫開強錄術機殺楓樣橋歐瀧澤濕爛愛瑪現癟"
    "盤碼穢窺級約結縫網膽艷藝蒼莖蕩藥蘿襪褲視訊記論詐誘說財貨賤賊資賭賠輪錢鐵鏟門陽陰際頻顏顫飛飯馬驗騷魚"
    "雞鴨黃龜時報撲國姦註電無擼氣櫻頭懶內戶",
)
"""Simplified → traditional for the characters of the built-in Chinese lists: each entry is also listed in its
all-traditional spelling, so Hong Kong and Taiwan pages match without converting every page's text."""


def trie_pattern(terms: list[str]) -> re.Pattern[str]:
    """One regex matching any of `terms`, built as a character trie so the engine tries one branch per
    character instead of every term at every position. On the 1,000-page Chinese sample it ran at 15-18 M
    characters/s against 10-15 for a flat alternation of the same terms and 7 for pyahocorasick's `iter_long` (a
    C extension we would have to add as a dependency). Optional tails are greedy, so the longest listed term
    starting at a position wins."""
    trie: dict[str, dict] = {}
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(build(trie))


@dataclass(frozen=True)
class SubstringLists:
    """The substring lists of one language: one pattern over all its terms, and each term's reason."""

    pattern: re.Pattern[str]
    reason_of: dict[str, str]

    @classmethod
    def of(cls, terms_by_reason: dict[str, set[str]]) -> SubstringLists | None:
        reason_of: dict[str, str] = {}
        for reason, terms in terms_by_reason.items():
            for term in terms:
                for spelling in {term, term.translate(SIMPLIFIED_TO_TRADITIONAL)}:
                    reason_of.setdefault(spelling, reason)
        if not reason_of:
            return None
        return cls(trie_pattern(sorted(reason_of)), reason_of)

    def matches(self, text: str) -> tuple[Counter[str], Counter[str]]:
        """Matches and matched characters by reason, in the lowercased text."""
        counts: Counter[str] = Counter()
        characters: Counter[str] = Counter()
        for term in self.pattern.findall(text.lower()):
            reason = self.reason_of[term]
            counts[reason] += 1
            characters[reason] += len(term)
        return counts, characters


TITLE_MAX_CHARACTERS = 200
"""A first line longer than this is prose, not a title (HPLT's titles, the first line of each page, are shorter)."""


def title_of(text: str) -> str:
    """An extracted page's title: its first non-empty line, when more lines follow and it is short; else ""."""
    head, newline, rest = text.lstrip().partition("\n")
    if not newline or not rest.strip() or len(head) > TITLE_MAX_CHARACTERS:
        return ""
    return head


def han_characters(text: str) -> int:
    """How many Han characters `text` has."""
    return sum(map(len, HAN_RUN.findall(text)))


class ToxicWordFilter:
    """Rejects documents whose share (or count) of listed words reaches the configured limit, with the list of
    the document's language."""

    family = "toxicity"

    def __init__(self, config: ToxicityConfig) -> None:
        self.config = config
        extra = {word.strip().lower() for word in config.extra_words if word.strip()}
        if config.words_file is not None:
            extra.update(read_list_file(Path(config.words_file).read_text(encoding="utf-8")))
        words = set(extra)
        if config.use_builtin_list:
            words.update(read_list_file(builtin_text(BUILTIN_LIST)))
        self.words = frozenset(words)
        self.substring_lists: dict[str, SubstringLists] = {}
        for language, files in SUBSTRING_LISTS.items():
            terms: dict[str, set[str]] = {OBSCENE: set(extra)}
            if config.use_builtin_list:
                terms[OBSCENE].update(read_list_file(builtin_text(files[OBSCENE])))
            if config.use_builtin_list and config.gambling:
                terms[GAMBLING] = set(read_list_file(builtin_text(files[GAMBLING])))
            lists = SubstringLists.of(terms)
            if lists is not None:
                self.substring_lists[language] = lists
        self.spam_classifier: SpamClassifier | None = builtin_classifier() if config.spam_classifier else None
        self.spam_threshold = (
            config.spam_threshold
            if config.spam_threshold is not None or self.spam_classifier is None
            else self.spam_classifier.threshold
        )

    def check(self, view: DocumentView, language: str | None = None) -> Drop | None:
        """Check `view` with the list of `language` (ISO 639-1); None, or a language without a list of its own,
        gets the English whole-word rule."""
        if not self.config.enabled:
            return None
        lists = self.substring_lists.get(language) if language else None
        drop = self.check_substrings(view.text, lists) if lists is not None else self.check_words(view.words)
        if drop is None and language in SPAM_CLASSIFIER_LANGUAGES:
            drop = self.check_classifier(view.text)
        return drop

    def check_classifier(self, text: str) -> Drop | None:
        """The spam classifier's verdict, for pages the word lists kept: SEO spam rarely holds listed words."""
        if self.spam_classifier is None or self.spam_threshold is None:
            return None
        probability = self.spam_classifier.probability(text)
        if probability >= self.spam_threshold:
            return Drop(
                f"{self.family}:{SPAM_CLASSIFIER}",
                f"spam_probability={probability:.3f} (limit: >= {self.spam_threshold:.3f})",
            )
        return None

    def check_words(self, words: list[str]) -> Drop | None:
        if not words or not self.words:
            return None
        listed = self.words
        if listed.isdisjoint(words):
            return None
        toxic = sum(1 for word in words if word in listed)
        fraction = toxic / len(words)
        if fraction >= self.config.max_toxic_word_fraction or toxic >= self.config.max_toxic_words:
            return Drop(
                f"{self.family}:{OBSCENE}",
                f"toxic_words={toxic} fraction={fraction:.4g} "
                f"(limits: fraction >= {self.config.max_toxic_word_fraction:g} or count >= {self.config.max_toxic_words})",
            )
        return None

    def check_substrings(self, text: str, lists: SubstringLists) -> Drop | None:
        counts, characters = lists.matches(text)
        if not counts:
            return None
        config = self.config
        if config.min_title_matches:
            title_counts, _ = lists.matches(title_of(text))
            for reason in (OBSCENE, GAMBLING):
                if title_counts[reason] >= config.min_title_matches:
                    return Drop(
                        f"{self.family}:{reason}",
                        f"title_matches={title_counts[reason]} (limit: >= {config.min_title_matches} in the first line)",
                    )
        han = han_characters(text)
        for reason in (OBSCENE, GAMBLING):
            count = counts[reason]
            if not count:
                continue
            fraction = characters[reason] / han if han else 0.0
            dense = count >= config.min_listed_matches and fraction >= config.max_listed_char_fraction
            if dense or count >= config.max_listed_matches:
                return Drop(
                    f"{self.family}:{reason}",
                    f"matches={count} matched_han_fraction={fraction:.4g} "
                    f"(limits: fraction >= {config.max_listed_char_fraction:g} with count >= "
                    f"{config.min_listed_matches}, or count >= {config.max_listed_matches})",
                )
        return None


def builtin_text(name: str) -> str:
    """A built-in list file of the clean stage, as text."""
    return resources.files("stages.clean").joinpath(name).read_text(encoding="utf-8")
