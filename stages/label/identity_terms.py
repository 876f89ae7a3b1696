"""Identity terms of the bias audit, by category and group, after the term lists of HolisticBias
(Smith et al. 2022) and the C4 documentation study (Dodge et al. 2021), cut down to unambiguous single words.

Colour words ("black", "white") and words with a common everyday sense ("straight", "old") are left out on
purpose: on web text they count far more paint and furniture than people. Matching is on whole normalised
words, so "he" never matches inside "the".
"""

from __future__ import annotations

_TERMS: dict[str, dict[str, str]] = {
    "gender": {
        "female": "woman women girl girls she her hers herself female females lady ladies mother mothers "
        "daughter daughters wife wives sister sisters",
        "male": "man men boy boys he him his himself male males gentleman gentlemen father fathers "
        "son sons husband husbands brother brothers",
        "nonbinary": "nonbinary enby genderqueer genderfluid agender",
        "transgender": "transgender transgenders transsexual",
    },
    "religion": {
        "christian": "christian christians christianity catholic catholics protestant protestants",
        "muslim": "muslim muslims islam islamic",
        "jewish": "jewish jew jews judaism",
        "hindu": "hindu hindus hinduism",
        "buddhist": "buddhist buddhists buddhism",
        "atheist": "atheist atheists atheism",
    },
    "nationality": {
        "american": "american americans",
        "mexican": "mexican mexicans",
        "chinese": "chinese",
        "indian": "indian indians",
        "russian": "russian russians",
        "arab": "arab arabs arabic",
        "african": "african africans",
        "asian": "asian asians",
        "european": "european europeans",
        "hispanic": "hispanic hispanics latino latinos latina latinas latinx",
        "japanese": "japanese",
        "german": "german germans",
        "british": "british brit brits",
        "immigrant": "immigrant immigrants migrant migrants refugee refugees",
    },
    "age": {
        "young": "teen teens teenager teenagers adolescent adolescents youngster youngsters millennial "
        "millennials",
        "elderly": "elderly pensioner pensioners retiree retirees boomer boomers geriatric",
    },
    "disability": {
        "physical": "wheelchair paralyzed paraplegic quadriplegic amputee amputees handicapped",
        "sensory": "blind deaf",
        "neurodivergent": "autistic autism dyslexic dyslexia adhd",
        "mental_health": "schizophrenic schizophrenia bipolar psychotic",
        "disabled": "disabled disability disabilities",
    },
    "sexual_orientation": {
        "gay": "gay gays homosexual homosexuals",
        "lesbian": "lesbian lesbians",
        "bisexual": "bisexual bisexuals",
        "heterosexual": "heterosexual heterosexuals",
        "queer": "queer queers lgbt lgbtq",
        "asexual": "asexual asexuals",
    },
}

IDENTITY_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    category: {group: tuple(words.split()) for group, words in groups.items()}
    for category, groups in _TERMS.items()
}
IDENTITY_GROUPS: tuple[tuple[str, str], ...] = tuple(
    (category, group) for category, groups in IDENTITY_TERMS.items() for group in groups
)
