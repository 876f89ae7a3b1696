"""English inflection rules for the embedded lexicon: plurals, verb forms and the a/an choice.

Rules cover the regular cases; the lexicon spells out the irregular ones (`child/children`, `take/took/taken`).
"""

from __future__ import annotations

from dataclasses import dataclass

VOWELS = frozenset("aeiou")
_SIBILANT_ENDINGS = ("s", "x", "z", "ch", "sh")


def _vowel_groups(word: str) -> int:
    groups, previous_vowel = 0, False
    for letter in word:
        is_vowel = letter in VOWELS or letter == "y"
        if is_vowel and not previous_vowel:
            groups += 1
        previous_vowel = is_vowel
    return groups


def _doubles_final_consonant(word: str) -> bool:
    """`stop` -> `stopped`: one syllable ending consonant-vowel-consonant (not w, x or y)."""
    if len(word) < 3 or word[-1] in VOWELS or word[-1] in "wxy":
        return False
    return word[-2] in VOWELS and word[-3] not in VOWELS and _vowel_groups(word) == 1


def plural(noun: str) -> str:
    head, _, last = noun.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last.endswith(_SIBILANT_ENDINGS):
        return f"{prefix}{last}es"
    if last.endswith("y") and len(last) > 1 and last[-2] not in VOWELS:
        return f"{prefix}{last[:-1]}ies"
    return f"{prefix}{last}s"


def third_person(verb: str) -> str:
    if verb.endswith((*_SIBILANT_ENDINGS, "o")):
        return f"{verb}es"
    if verb.endswith("y") and verb[-2] not in VOWELS:
        return f"{verb[:-1]}ies"
    return f"{verb}s"


def regular_past(verb: str) -> str:
    if verb.endswith("e"):
        return f"{verb}d"
    if verb.endswith("y") and verb[-2] not in VOWELS:
        return f"{verb[:-1]}ied"
    if _doubles_final_consonant(verb):
        return f"{verb}{verb[-1]}ed"
    return f"{verb}ed"


def gerund(verb: str, past: str) -> str:
    if verb.endswith("ie"):
        return f"{verb[:-2]}ying"
    if verb.endswith("e") and not verb.endswith(("ee", "ye", "oe")):
        return f"{verb[:-1]}ing"
    if _doubles_final_consonant(verb) or past == f"{verb}{verb[-1]}ed":
        return f"{verb}{verb[-1]}ing"
    return f"{verb}ing"


@dataclass(frozen=True)
class VerbForms:
    base: str
    third_person: str
    past: str
    participle: str
    gerund: str


def verb_forms(entry: str) -> VerbForms:
    """Inflect a lexicon entry: `cook`, or an irregular `take/took/taken`."""
    parts = entry.split("/")
    base = parts[0]
    past = parts[1] if len(parts) > 1 else regular_past(base)
    participle = parts[2] if len(parts) > 2 else past
    return VerbForms(base, third_person(base), past, participle, gerund(base, past))


def noun_forms(entry: str) -> tuple[str, str]:
    """(singular, plural) of a lexicon entry: `carrot`, or an irregular `child/children`."""
    singular, _, irregular = entry.partition("/")
    return singular, irregular or plural(singular)


_CONSONANT_SOUND_PREFIXES = ("uni", "use", "usu", "uti", "one", "once", "eu")
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "honor", "heir")
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")


def takes_an(word: str) -> bool:
    """Whether the indefinite article before `word` is `an` (by sound, roughly)."""
    if not word:
        return False
    if len(word) > 1 and word.isupper() and word.isalpha():
        return word[0] in _VOWEL_SOUND_LETTERS and word != "USB"
    lower = word.lower()
    if lower[0].isdigit():
        return lower[0] == "8" or lower in ("11", "18")
    if lower.startswith(_VOWEL_SOUND_PREFIXES):
        return True
    if lower.startswith(_CONSONANT_SOUND_PREFIXES):
        return False
    return lower[0] in VOWELS


def capitalised(word: str) -> str:
    return word[:1].upper() + word[1:]
