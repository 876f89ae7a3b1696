"""English words as spaCy's blank English tokenizer cuts them, which is what datatrove's Gopher, C4 and FineWeb
filters count (`load_word_tokenizer("en")` is `spacy.blank("en")` plus a sentencizer), without spaCy.

spaCy's rules, restated here (the same rules, not its code):
- text splits at whitespace (`str.isspace`); whitespace never becomes a word;
- each chunk that is not a special case (contractions `don't` → `do n't`, `dont` → `do nt`, `cannot` → `can not`,
  abbreviations `e.g.`, `Mr.`, `a.`, times `5pm` → `5 pm`, emoticons) loses prefixes (opening brackets and
  quotes, `$`, `#`, ...) and suffixes (closing punctuation, `'s`, a final `.` after a lowercase letter, digit or
  punctuation, units and currencies after a digit), one at a time, checking for a special case after each;
- what is left stays whole when it is a URL or e-mail address, else splits at infixes (`...`, a hyphen between
  letters, a comma between letters, `.` between a lowercase and an uppercase letter, `:<>=/` after a letter or
  digit, `+-*^` between digits).
spaCy's letter classes (Latin, Greek, Cyrillic and a list of other scripts) are approximated by `str.isalpha`,
its symbol class by the Unicode category So; English text never meets the difference.

Each distinct chunk is split once and remembered, so a document costs one `str.split` and one dict look-up per
chunk; `benchmarks/clean_parity.py --check-words` compares the words with spaCy's on real text. This is the
segmenter of every space-separated language (`stages.text.segmentation`), as datatrove uses it for all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from itertools import pairwise

# --- character classes ------------------------------------------------------------------------------------

PUNCT_ITEMS = (
    "…", "……", ",", ":", ";", "!", "?", "¿", "؟", "¡", "(", ")", "[", "]", "{", "}", "<", ">", "_", "#", "*", "&",
    "。", "？", "！", "，", "、", "；", "：", "～", "·", "।", "،", "۔", "؛", "٪",
)  # fmt: skip
QUOTE_CHARS = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉〈〉⟦⟧"
CURRENCY_ITEMS = (
    "$", "£", "€", "¥", "฿", "US$", "C$", "A$", "₽", "﷼", "₴", "₠", "₡", "₢", "₣", "₤", "₥", "₦", "₧", "₨", "₩", "₪",
    "₫", "₭", "₮", "₯", "₰", "₱", "₲", "₳", "₵", "₶", "₷", "₸", "₹", "₺", "₻", "₼", "₾", "₿",
)  # fmt: skip
UNIT_ITEMS = [
    "km",
    "km²",
    "km³",
    "m",
    "m²",
    "m³",
    "dm",
    "dm²",
    "dm³",
    "cm",
    "cm²",
    "cm³",
    "mm",
    "mm²",
    "mm³",
    "ha",
    "µm",
    "nm",
    "yd",
    "in",
    "ft",
    "kg",
    "g",
    "mg",
    "µg",
    "t",
    "lb",
    "oz",
    "m/s",
    "km/h",
    "kmh",
    "mph",
    "hPa",
    "Pa",
    "mbar",
    "mb",
    "MB",
    "kb",
    "KB",
    "gb",
    "GB",
    "tb",
    "TB",
    "T",
    "G",
    "M",
    "K",
    "%",
    "км",
    "км²",
    "км³",
    "м",
    "м²",
    "м³",
    "дм",
    "дм²",
    "дм³",
    "см",
    "см²",
    "см³",
    "мм",
    "мм²",
    "мм³",
    "нм",
    "кг",
    "г",
    "мг",
    "м/с",
    "км/ч",
    "кПа",
    "Па",
    "мбар",
    "Кб",
    "КБ",
    "кб",
    "Мб",
    "МБ",
    "мб",
    "Гб",
    "ГБ",
    "гб",
    "Тб",
    "ТБ",
    "тбكم",
    "كم²",
    "كم³",
    "م",
    "م²",
    "م³",
    "سم",
    "سم²",
    "سم³",
    "مم",
    "مم²",
    "مم³",
    "كم",
    "غرام",
    "جرام",
    "جم",
    "كغ",
    "ملغ",
    "كوب",
    "اكواب",
]
HYPHEN_ITEMS = ("-", "–", "—", "--", "---", "——", "~")
# spaCy's sentencizer: a token that is one of these ends a sentence.
SENTENCE_END_CHARS = frozenset(
    "!.?\u0589\u061f\u06d4\u0700\u0701\u0702\u07f9\u0964\u0965\u104a\u104b\u1362\u1367\u1368\u166e\u1735\u1736"
    "\u1803\u1809\u1944\u1945\u1aa8\u1aa9\u1aaa\u1aab\u1b5a\u1b5b\u1b5e\u1b5f\u1c3b\u1c3c\u1c7e\u1c7f\u203c"
    "\u203d\u2047\u2048\u2049\u2e2e\u2e3c\u3002\ua4ff\ua60e\ua60f\ua6f3\ua6f7\ua876\ua877\ua8ce\ua8cf\ua92f"
    "\ua9c8\ua9c9\uaa5d\uaa5e\uaa5f\uaaf0\uaaf1\uabeb\ufe52\ufe56\ufe57\uff01\uff0e\uff1f\uff61"
)


def _ranges(predicate, stop: int) -> str:
    """A regex character-class body for the code points below `stop` that satisfy `predicate`."""
    parts: list[str] = []
    start = None
    for point in range(stop + 1):
        inside = point < stop and predicate(chr(point))
        if inside and start is None:
            start = point
        elif not inside and start is not None:
            first, last = re.escape(chr(start)), re.escape(chr(point - 1))
            parts.append(first if start == point - 1 else f"{first}-{last}")
            start = None
    return "".join(parts)


def _escaped(items) -> list[str]:
    return [re.escape(item) for item in items]


ALPHA = _ranges(str.isalpha, 0x10000) + "\u0300-\u036f"
ALPHA_LOWER = _ranges(lambda c: c.isalpha() and not c.isupper(), 0x10000)
ALPHA_UPPER = _ranges(lambda c: c.isalpha() and not c.islower(), 0x10000)


def _is_symbol(character: str) -> bool:
    return unicodedata.category(character) == "So"


# Two classes, not one: a class that reaches past U+FFFF is tested range by range (3 µs a chunk), one inside the
# Basic Multilingual Plane by a bitmap (0.2 µs).
ICONS_BMP = _ranges(_is_symbol, 0x10000)
ICONS_ASTRAL = _ranges(lambda c: c >= "\U00010000" and _is_symbol(c), 0x20000)
ICONS = f"(?:[{ICONS_BMP}]|[{ICONS_ASTRAL}])"
QUOTES = re.escape(QUOTE_CHARS)
# spaCy writes its punctuation alternation (`…|……|,|...`) inside a character class for the final-period rule,
# so `|`, `(`, `?`, `:` and `)` are in that class too.
PUNCT_IN_CLASS = re.escape("".join(dict.fromkeys("".join(PUNCT_ITEMS) + "|(?:)")))
ELLIPSES = [r"\.\.+", "…"]

PREFIXES = [
    "§", "%", "=", "—", "–", r"\+(?![0-9])",
    *_escaped(PUNCT_ITEMS), *ELLIPSES, *_escaped(QUOTE_CHARS), *_escaped(CURRENCY_ITEMS), ICONS,
]  # fmt: skip
SUFFIXES = [
    *_escaped(PUNCT_ITEMS), *ELLIPSES, *_escaped(QUOTE_CHARS), ICONS,
    "'s", "'S", "’s", "’S", "—", "–",
    r"(?<=[0-9])\+",
    r"(?<=°[FfCcKk])\.",
    r"(?<=[0-9])(?:" + "|".join(_escaped(CURRENCY_ITEMS)) + ")",
    r"(?<=[0-9])(?:" + "|".join(_escaped(UNIT_ITEMS)) + ")",
    r"(?<=[0-9" + ALPHA_LOWER + r"%²\-\+" + QUOTES + PUNCT_IN_CLASS + r"])\.",
    r"(?<=[" + ALPHA_UPPER + "][" + ALPHA_UPPER + r"])\.",
]  # fmt: skip
HYPHENS = "|".join(_escaped(HYPHEN_ITEMS))
INFIXES = [
    *ELLIPSES, ICONS,
    r"(?<=[0-9])[+\-\*^](?=[0-9-])",
    r"(?<=[" + ALPHA_LOWER + QUOTES + r"])\.(?=[" + ALPHA_UPPER + QUOTES + "])",
    r"(?<=[" + ALPHA + "]),(?=[" + ALPHA + "])",
    r"(?<=[" + ALPHA + "0-9])(?:" + HYPHENS + ")(?=[" + ALPHA + "])",
    r"(?<=[" + ALPHA + "0-9])[:<>=/](?=[" + ALPHA + "])",
]  # fmt: skip

PREFIX = re.compile("|".join("^" + piece for piece in PREFIXES))
assert [item for item in (*PUNCT_ITEMS, *QUOTE_CHARS, *CURRENCY_ITEMS) if item[0].isalpha()] == [
    "US$",
    "C$",
    "A$",
], "a prefix opening with a letter besides US$, C$ and A$: split_affixes's shortcut misses it"
SUFFIX = re.compile("|".join(piece + "$" for piece in SUFFIXES))
INFIX = re.compile("|".join(INFIXES))
# Every suffix but `\.\.+` is at most this long (the longest unit, currency or punctuation item; the other
# pieces are one character or `'s`), so a suffix search need only start this far from the end, or at a final run
# of dots. `SUFFIX.search` from position 0 tries every alternative at every position: 8 µs a chunk against 1.6.
LONGEST_FIXED_SUFFIX = max(len(item) for item in (*PUNCT_ITEMS, *CURRENCY_ITEMS, *UNIT_ITEMS, "'s"))
DIGITS = frozenset("0123456789")
POSSESSIVES = ("'s", "'S", "’s", "’S")
# Every SUFFIXES piece that is a plain string, and those of them that are a suffix wherever they stand (the
# currencies and units are suffixes only after a digit).
_LITERAL_SUFFIXES = (*PUNCT_ITEMS, *QUOTE_CHARS, *CURRENCY_ITEMS, *UNIT_ITEMS, *POSSESSIVES, "—", "–")
_UNCONDITIONAL_SUFFIXES = (*PUNCT_ITEMS, *QUOTE_CHARS, *POSSESSIVES, "—", "–")
# Characters that are a whole suffix by themselves: a one-character suffix wherever it stands, which no longer
# piece ends with (the regex pieces end in a dot, `+`, `…`, a currency, a unit or an icon, none of them here), so
# when a text ends with one, the leftmost suffix match is that character (closing brackets, quotes, commas...).
ONE_CHARACTER_SUFFIXES = frozenset(
    character
    for character in _UNCONDITIONAL_SUFFIXES
    if len(character) == 1
    and character not in ".…+"
    and all(len(item) == 1 for item in _LITERAL_SUFFIXES if item.endswith(character))
)
assert not any(unicodedata.category(character) == "So" for character in ONE_CHARACTER_SUFFIXES)
# The characters an infix starts with: every INFIXES alternative consumes one of these first, so INFIX need only
# be tried where one of them stands (lookbehinds still see the characters before it). One class scans fast; an
# alternation of two does not, so text with a character past U+FFFF (an emoji) takes the two-class pattern.
INFIX_START_CHARACTERS = re.escape(".…+-*^,–—~:<>=/")
INFIX_START_BMP = re.compile(f"[{INFIX_START_CHARACTERS}{ICONS_BMP}]")
INFIX_START = re.compile(f"[{INFIX_START_CHARACTERS}{ICONS_BMP}]|[{ICONS_ASTRAL}]")
ASTRAL = re.compile("[\U00010000-\U0010ffff]")
ICON = re.compile(ICONS)


def _literal_first_infixes() -> re.Pattern[str]:
    """INFIX for text without an icon, each alternative written to open with its literal character.

    `(?<=X)c(?=Y)` and `c(?<=Xc)(?=Y)` match the same places, but a pattern whose every alternative opens with
    a literal lets the regex engine skip to the characters that can start a match (a search over a chunk: 0.9 µs
    against 6.4). The alternatives keep INFIXES' order (it decides which wins at a position), icons left out.
    """
    alphanumeric = f"[{ALPHA}0-9]"
    alternatives = [r"\.\.+", "…"]
    alternatives += [f"{re.escape(c)}(?<=[0-9]{re.escape(c)})(?=[0-9-])" for c in "+-*^"]
    alternatives.append(rf"\.(?<=[{ALPHA_LOWER}{QUOTES}]\.)(?=[{ALPHA_UPPER}{QUOTES}])")
    alternatives.append(f",(?<=[{ALPHA}],)(?=[{ALPHA}])")
    alternatives += [f"{re.escape(h)}(?<={alphanumeric}{re.escape(h)})(?=[{ALPHA}])" for h in HYPHEN_ITEMS]
    alternatives += [f"{re.escape(c)}(?<={alphanumeric}{re.escape(c)})(?=[{ALPHA}])" for c in ":<>=/"]
    return re.compile("|".join(alternatives))


INFIX_WITHOUT_ICONS = _literal_first_infixes()
INFIX_WITHOUT_ICONS_SPLIT = re.compile(f"({INFIX_WITHOUT_ICONS.pattern})")
URL_HOST_CHAR = "A-Za-z0-9\u00a1-\uffff"
URL = re.compile(
    r"(?u)^(?:[\w+\-.]{2,}://)?(?:\S+(?::\S*)?@)?(?:"
    r"(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})"
    r"(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})"
    r"(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}"
    r"(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))"
    rf"|(?:(?:[{URL_HOST_CHAR}][{URL_HOST_CHAR}_-]{{0,62}})?[{URL_HOST_CHAR}]\.)+(?:[{ALPHA_LOWER}]{{2,63}})"
    r")(?::\d{2,5})?(?:[/?#]\S*)?$"
)

# --- special cases ----------------------------------------------------------------------------------------

EMOTICONS = [
    r":)",
    r":-)",
    r":))",
    r":-))",
    r":)))",
    r":-)))",
    r"(:",
    r"(-:",
    r"=)",
    r"(=",
    r":]",
    r":-]",
    r"[:",
    r"[-:",
    r"[=",
    r"=]",
    r":o)",
    r"(o:",
    r":}",
    r":-}",
    r"8)",
    r"8-)",
    r"(-8",
    r";)",
    r";-)",
    r"(;",
    r"(-;",
    r":(",
    r":-(",
    r":((",
    r":-((",
    r":(((",
    r":-(((",
    r"):",
    r")-:",
    r"=(",
    r">:(",
    r":')",
    r":'-)",
    r":'(",
    r":'-(",
    r":/",
    r":-/",
    r"=/",
    r"=|",
    r":|",
    r":-|",
    r"]=",
    r"=[",
    r":1",
    r":P",
    r":-P",
    r":p",
    r":-p",
    r":O",
    r":-O",
    r":o",
    r":-o",
    r":0",
    r":-0",
    r":()",
    r">:o",
    r":*",
    r":-*",
    r":3",
    r":-3",
    r"=3",
    r":>",
    r":->",
    r":X",
    r":-X",
    r":x",
    r":-x",
    r":D",
    r":-D",
    r";D",
    r";-D",
    r"=D",
    r"xD",
    r"XD",
    r"xDD",
    r"XDD",
    r"8D",
    r"8-D",
    r"^_^",
    r"^__^",
    r"^___^",
    r">.<",
    r">.>",
    r"<.<",
    r"._.",
    r";_;",
    r"-_-",
    r"-__-",
    r"v.v",
    r"V.V",
    r"v_v",
    r"V_V",
    r"o_o",
    r"o_O",
    r"O_o",
    r"O_O",
    r"0_o",
    r"o_0",
    r"0_0",
    r"o.O",
    r"O.o",
    r"O.O",
    r"o.o",
    r"0.0",
    r"o.0",
    r"0.o",
    r"@_@",
    r"<3",
    r"<33",
    r"<333",
    r"</3",
    r"(^_^)",
    r"(-_-)",
    r"(._.)",
    r"(>_<)",
    r"(*_*)",
    r"(¬_¬)",
    r"ಠ_ಠ",
    r"ಠ︵ಠ",
    r"(ಠ_ಠ)",
    r"¯\(ツ)/¯",
    r"(╯°□°）╯︵┻━┻",
    r"><(((*>",
]
WHOLE_TOKENS = (
    "'", '\\")', "<space>", "''", "C++", "\\t", "\\n", "'d", "a.m.", "Adm.", "Bros.", "co.", "Co.", "Corp.", "D.C.",
    "Dr.", "e.g.", "E.g.", "E.G.", "Gen.", "Gov.", "i.e.", "I.e.", "I.E.", "Inc.", "Jr.", "Ltd.", "Md.", "Messrs.",
    "Mo.", "Mont.", "Mr.", "Mrs.", "Ms.", "p.m.", "Ph.D.", "Prof.", "Rep.", "Rev.", "Sen.", "St.", "vs.", "v.s.",
    "'S", "'s", "\u2018S", "\u2018s", "and/or", "w/o", "'re", "'Cause", "'cause", "'cos", "'Cos", "'coz", "'Coz",
    "'cuz", "'Cuz", "'bout", "ma'am", "Ma'am", "o'clock", "O'clock", "lovin'", "Lovin'", "lovin", "Lovin",
    "havin'", "Havin'", "havin", "Havin", "doin'", "Doin'", "doin", "Doin", "goin'", "Goin'", "goin", "Goin",
    "nothin", "Nothin", "nothin'", "Nothin'", "nuthin", "Nuthin", "nuthin'", "Nuthin'", "ol", "Ol", "ol'", "Ol'",
    "somethin", "Somethin", "somethin'", "Somethin'", "em", "'em", "ll", "'ll", "nuff", "'nuff",
    "Mt.", "Ak.", "Ala.", "Apr.", "Ariz.", "Ark.", "Aug.", "Calif.", "Colo.", "Conn.", "Dec.", "Del.", "Feb.",
    "Fla.", "Ga.", "Ia.", "Id.", "Ill.", "Ind.", "Jan.", "Jul.", "Jun.", "Kan.", "Kans.", "Ky.", "La.", "Mar.",
    "Mass.", "Mich.", "Minn.", "Miss.", "N.C.", "N.D.", "N.H.", "N.J.", "N.M.", "N.Y.", "Neb.", "Nebr.", "Nev.",
    "Nov.", "Oct.", "Okla.", "Ore.", "Pa.", "S.C.", "Sep.", "Sept.", "Tenn.", "Va.", "Wash.", "Wis.",
    *(f"{letter}." for letter in "abcdefghijklmnopqrstuvwxyzäöü"),
)  # fmt: skip
SPLIT_TOKENS = {
    "y'all": ("y'", "all"), "yall": ("y", "all"), "how'd'y": ("how", "'d", "'y"), "How'd'y": ("How", "'d", "'y"),
    "not've": ("not", "'ve"), "notve": ("not", "ve"), "Not've": ("Not", "'ve"), "Notve": ("Not", "ve"),
    "cannot": ("can", "not"), "Cannot": ("Can", "not"), "gonna": ("gon", "na"), "Gonna": ("Gon", "na"),
    "gotta": ("got", "ta"), "Gotta": ("Got", "ta"), "let's": ("let", "'s"), "Let's": ("Let", "'s"),
    "c'mon": ("c'm", "on"), "C'mon": ("C'm", "on"),
    **{f"°{unit}.": ("°", unit, ".") for unit in "cfkCFK"},
}  # fmt: skip
# Words that the contraction patterns below would generate but spaCy keeps whole.
NOT_CONTRACTIONS = frozenset(
    [
        "Ill",
        "ill",
        "Its",
        "its",
        "Hell",
        "hell",
        "Shell",
        "shell",
        "Shed",
        "shed",
        "were",
        "Were",
        "Well",
        "well",
        "Whore",
        "whore",
    ]
)


def _contractions() -> dict[str, tuple[str, ...]]:
    """spaCy's English contraction table: a word plus clitics, with and without the apostrophe, lower and title."""
    table: dict[str, tuple[str, ...]] = {}

    def add(word: str, *clitics: str) -> None:
        for head in (word, word.title()):
            table[head + "".join(clitics)] = (head, *clitics)
            bare = tuple(clitic.replace("'", "") for clitic in clitics)
            table[head + "".join(bare)] = (head, *bare)

    add("i", "'m")
    add("i", "'m", "a")
    for pronoun in ("i", "you", "he", "she", "it", "we", "they"):
        for clitics in (("'ll",), ("'ll", "'ve"), ("'d",), ("'d", "'ve")):
            add(pronoun, *clitics)
    for pronoun in ("i", "you", "we", "they"):
        add(pronoun, "'ve")
    for pronoun in ("you", "we", "they"):
        add(pronoun, "'re")
    for pronoun in ("he", "she", "it"):
        add(pronoun, "'s")
    for word in ("who", "what", "when", "where", "why", "how", "there", "that", "this", "these", "those"):
        plural = word in ("these", "those")
        singular = word in ("that", "this")
        if not plural:
            add(word, "'s")
        for clitics in (("'ll",), ("'ll", "'ve"), ("'d",), ("'d", "'ve")):
            add(word, *clitics)
        if not singular:
            add(word, "'re")
            add(word, "'ve")
    for verb in (
        "ca", "could", "do", "does", "did", "had", "may", "might", "must", "need", "ought", "sha", "should", "wo",
        "would",
    ):  # fmt: skip
        add(verb, "n't")
        add(verb, "n't", "'ve")
    for verb in ("could", "might", "must", "should", "would"):
        add(verb, "'ve")
    for verb in ("ai", "are", "is", "was", "were", "have", "has", "dare"):
        add(verb, "n't")
    for hour in range(1, 13):
        for period in ("a.m.", "am", "p.m.", "pm"):
            table[f"{hour}{period}"] = (str(hour), period)
    return table


def _with_typographic_apostrophes(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Every special case with `'` also with `’` (`don’t` → `do n’t`), as spaCy expands its table."""
    expanded = dict(table)
    for orth, pieces in table.items():
        if "'" in orth:
            expanded[orth.replace("'", "’")] = tuple(piece.replace("'", "’") for piece in pieces)
    return expanded


SPECIAL_CASES: dict[str, tuple[str, ...]] = _with_typographic_apostrophes(
    {
        **{token: (token,) for token in EMOTICONS},
        **{token: (token,) for token in WHOLE_TOKENS},
        **{
            orth: pieces
            for orth, pieces in _contractions().items()
            if orth not in NOT_CONTRACTIONS and orth not in WHOLE_TOKENS
        },
        **SPLIT_TOKENS,
    }
)


# --- the tokenizer ----------------------------------------------------------------------------------------


def split_chunk(chunk: str) -> tuple[str, ...]:
    """The tokens of one whitespace-free chunk, by spaCy's affix algorithm and then its special-case matcher."""
    special = SPECIAL_CASES.get(chunk)
    if special is not None:
        return special
    if chunk.isalpha():  # no prefix, suffix or infix holds only letters, nor does a URL: one token
        return (chunk,)
    body = chunk[:-1]
    if body.isalpha() and body not in SPECIAL_CASES and ends_word_with_suffix(body, chunk[-1]):
        # A word and closing punctuation (`word,` `word.`), the commonest chunk after a bare word: what
        # split_affixes gives (the suffix comes off, and a word has no affix, infix or URL) without its loop.
        tokens: tuple[str, ...] = (body, chunk[-1])
    elif prefix_size(chunk) == 0 and suffix_length(chunk) == 0:
        # Nothing comes off (a path, a hyphenated or dotted name): split_affixes's loop would stop at once.
        pieces: list[str] = []
        split_rest(chunk, SPECIAL_CASES, pieces)
        tokens = tuple(pieces)
    else:
        tokens = split_affixes(chunk, SPECIAL_CASES)
    if len(tokens) == 1 or not may_match_special_case(tokens):
        return tokens
    return merge_special_cases(tokens)


def ends_word_with_suffix(word: str, last: str) -> bool:
    """Whether `last`, after the letters of `word`, is a suffix on its own: a ONE_CHARACTER_SUFFIXES character, or
    a full stop after a lowercase letter (SUFFIXES's `(?<=[...a-z...])\\.`; ALPHA_LOWER lies below U+10000)."""
    if last in ONE_CHARACTER_SUFFIXES:
        return True
    final = word[-1]
    return last == "." and not final.isupper() and final < "\U00010000"


def suffix_length(text: str) -> int:
    """The length of the suffix spaCy would cut from the end of `text` (the leftmost SUFFIX match), 0 if none.

    Two endings are settled without the regex (2 µs a search): a character of ONE_CHARACTER_SUFFIXES is the
    whole suffix, and text ending in a letter has none unless it ends in `'s` or has a digit in its last five
    characters (no suffix ends in a letter but `'s` and the units, which follow a digit: the digit and the
    longest unit lie in the last five).
    """
    if not text:
        return 0
    last = text[-1]
    if last in ONE_CHARACTER_SUFFIXES:
        return 1
    if last.isalpha():
        tail = text[-LONGEST_FIXED_SUFFIX - 1 :]
        if tail.isalpha() or (DIGITS.isdisjoint(tail) and not text.endswith(POSSESSIVES)):
            return 0
    length = len(text)
    start = length - LONGEST_FIXED_SUFFIX
    if start > 0 and text.endswith(".."):
        start = min(start, len(text.rstrip(".")))
    match = SUFFIX.search(text, max(start, 0))
    return length - match.start() if match else 0


def split_infixes(text: str, tokens: list[str]) -> None:
    """Append `text` to `tokens` cut at its infixes (INFIX's matches; none before its first character).

    Without an icon, `re.split` with the infix pattern in a group does the cutting in C: pieces and infixes
    alternate, the empty pieces (between adjacent infixes, at the ends) are left out, and an infix at the very
    start stays joined to the piece after it, as the loop over matches below does (3 µs for a file path, 1 µs
    split).
    """
    if text.isascii() or not ICON.search(text):  # no ASCII character is an icon
        parts = INFIX_WITHOUT_ICONS_SPLIT.split(text)
        if len(parts) > 1 and not parts[0]:  # an infix at position 0 is not cut off
            parts[:3] = ["", parts[1] + parts[2]]
        tokens.extend(filter(None, parts))
        return
    start = 0  # the end of the last infix: the next token starts here
    for match in infix_matches(text):
        infix_start, infix_end = match.span()
        if infix_start == 0:
            continue
        if infix_start != start:
            tokens.append(text[start:infix_start])
        tokens.append(text[infix_start:infix_end])
        start = infix_end
    if start < len(text):
        tokens.append(text[start:])


def infix_matches(text: str) -> Iterator[re.Match[str]]:
    """`INFIX.finditer(text)`, found by trying INFIX only where one can start (at an `INFIX_START` character past
    the last match) instead of at every position."""
    starts = INFIX_START if ASTRAL.search(text) else INFIX_START_BMP
    resume = 0  # no match may start before this
    for trigger in starts.finditer(text):
        position = trigger.start()
        if position < resume:
            continue
        match = INFIX.match(text, position)
        if match is not None:
            resume = match.end()
            yield match


def split_affixes(chunk: str, special_cases: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Prefixes and suffixes off one at a time (stopping at a special case), then URL or infix splits."""
    prefixes: list[str] = []
    suffixes: list[str] = []
    rest = chunk
    last_size = -1
    while rest and len(rest) != last_size:
        if rest in special_cases:
            break
        last_size = len(rest)
        prefix_length = prefix_size(rest)
        if prefix_length:
            without_prefix = rest[prefix_length:]
            if without_prefix and without_prefix in special_cases:
                prefixes.append(rest[:prefix_length])
                rest = without_prefix
                break
        cut = suffix_length(rest[prefix_length:] if prefix_length else rest)
        if cut:
            without_suffix = rest[:-cut]
            if without_suffix and without_suffix in special_cases:
                suffixes.append(rest[-cut:])
                rest = without_suffix
                break
        if prefix_length and cut and prefix_length + cut <= len(rest):
            prefixes.append(rest[:prefix_length])
            suffixes.append(rest[-cut:])
            rest = rest[prefix_length:-cut]
        elif prefix_length:
            prefixes.append(rest[:prefix_length])
            rest = rest[prefix_length:]
        elif cut:
            suffixes.append(rest[-cut:])
            rest = rest[:-cut]
        if rest and rest in special_cases:
            break
    tokens = prefixes
    if rest:
        split_rest(rest, special_cases, tokens)
    tokens.extend(reversed(suffixes))
    return tuple(tokens)


def split_rest(rest: str, special_cases: dict[str, tuple[str, ...]], tokens: list[str]) -> None:
    """Append the tokens of what is left once the affixes are off: a special case's, the whole of it (letters
    only, which no infix or URL holds, or a URL), or its pieces between infixes."""
    special = special_cases.get(rest)
    if special is not None:
        tokens.extend(special)
    elif rest.isalpha() or (may_be_url(rest) and URL.match(rest)):
        tokens.append(rest)
    else:
        split_infixes(rest, tokens)


def prefix_size(text: str) -> int:
    """The length of the prefix spaCy would cut from the start of `text`, 0 if none."""
    if text[0].isalpha() and "$" not in text[:3]:
        return 0  # the prefixes that open with a letter are the currencies US$, C$ and A$
    match = PREFIX.search(text)
    return match.end() if match else 0


def may_be_url(text: str) -> bool:
    """False when URL cannot match `text`, found without the regex (which backtracks through the whole text
    looking for a user name's `@`: 1.7 µs for a file path). Every URL holds a dot (host name or IP address);
    without a scheme (`://`) or user name (`@`) it opens with its host, so a `/?#:` before the first dot means
    no URL."""
    dot = text.find(".")
    if dot < 0:
        return False
    if "@" in text or "://" in text:
        return True
    head = text[:dot]
    return not ("/" in head or "?" in head or "#" in head or ":" in head)


def may_match_special_case(tokens: tuple[str, ...]) -> bool:
    """Whether spaCy's special-case matcher could change `tokens`: some pattern's first two tokens are adjacent
    in them (every pattern but the single quotes, which map to themselves, has two or more)."""
    if MATCHER_FIRST_TOKENS.isdisjoint(tokens):
        return False
    pairs = MATCHER_PAIRS
    return any(pair in pairs for pair in pairwise(tokens))


def merge_special_cases(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """spaCy's special-case matcher: runs of tokens that spell a special case containing affixes (`''`,
    `):`, ...) become that case's tokens; longer runs first, then earlier ones, and a run whose first or last
    token lies in a run already taken (or passed over) is skipped."""
    matches = []
    for start in range(len(tokens)):
        for length in range(1, min(LONGEST_MATCHED_SPECIAL_CASE, len(tokens) - start) + 1):
            if tuple(tokens[start : start + length]) in MATCHER_PATTERNS:
                matches.append((length, start))
    if not matches:
        return tokens
    matches.sort(key=lambda match: (-match[0], match[1]))
    seen: set[int] = set()
    taken: dict[int, int] = {}
    for length, start in matches:
        end = start + length
        if start not in seen and end - 1 not in seen:
            taken[start] = end
        seen.update(range(start, end))
    merged: list[str] = []
    index = 0
    while index < len(tokens):
        end = taken.get(index)
        if end is None:
            merged.append(tokens[index])
            index += 1
        else:
            merged.extend(SPECIAL_CASES["".join(tokens[index:end])])
            index = end
    return tuple(merged)


def _matched_special_cases() -> dict[str, tuple[str, ...]]:
    """The special cases spaCy also looks for across tokens (those its affix rules would cut), each with the
    tokens the affix rules alone make of it."""
    matched = {}
    for orth in SPECIAL_CASES:
        if PREFIX.search(orth) or SUFFIX.search(orth) or INFIX.search(orth):
            matched[orth] = split_affixes(orth, {})
    return matched


MATCHED_SPECIAL_CASES = _matched_special_cases()
MATCHER_PATTERNS = frozenset(MATCHED_SPECIAL_CASES.values())
LONGEST_MATCHED_SPECIAL_CASE = max(map(len, MATCHER_PATTERNS))
MATCHER_PAIRS = frozenset(pattern[:2] for pattern in MATCHER_PATTERNS if len(pattern) > 1)
MATCHER_FIRST_TOKENS = frozenset(first for first, _ in MATCHER_PAIRS)
# A one-token pattern can only be a special case that its affix rules leave whole, which the matcher maps to
# itself: skipping the matcher when no two-token start occurs changes nothing (checked at import).
assert all(SPECIAL_CASES["".join(pattern)] == pattern for pattern in MATCHER_PATTERNS if len(pattern) == 1), (
    "a one-token special-case pattern that changes its token: may_match_special_case must look for it"
)


class EnglishWordTokenizer:
    """spaCy-equivalent English words of a text, each distinct chunk split once and then looked up."""

    spaced = True  # words are separated by spaces in the text: an n-gram's text is its words joined by " "

    def __init__(self, max_cached_chunks: int = 500_000) -> None:
        self.max_cached_chunks = max_cached_chunks
        self._chunks: dict[str, tuple[str, ...]] = {}

    def words(self, text: str) -> list[str]:
        chunks = self._chunks
        if len(chunks) > self.max_cached_chunks:
            chunks.clear()
        words: list[str] = []
        extend = words.extend
        get = chunks.get
        for chunk in text.split():
            tokens = get(chunk)
            if tokens is None:
                tokens = chunks[chunk] = split_chunk(chunk)
            extend(tokens)
        return words

    def sentence_count(self, text: str) -> int:
        """Sentences in `text` as spaCy's sentencizer splits them (at least 1): a sentence ends at a token in
        `SENTENCE_END_CHARS` and the next one starts at the first later token that is not punctuation."""
        sentences = 1
        after_end = False
        for word in self.words(text):
            if word in SENTENCE_END_CHARS:
                after_end = True
            elif after_end and not is_punctuation(word):
                sentences += 1
                after_end = False
        return sentences


@lru_cache(maxsize=65536)
def is_punctuation(token: str) -> bool:
    """spaCy's `is_punct`: every character in a Unicode punctuation category (P*)."""
    return all(unicodedata.category(character).startswith("P") for character in token)


ENGLISH_WORDS = EnglishWordTokenizer()
