"""Personal data sprinkled into otherwise clean documents, recorded so a PII stage can be checked exactly.

Kinds: email, phone, ip_address, credit_card (numbers pass the Luhn check), aws_key (`AKIA` + 16 characters).
"""

from __future__ import annotations

import random

from demo_corpus import english_words as words
from demo_corpus.lexicon import entries

PII_KINDS: tuple[str, ...] = ("email", "phone", "ip_address", "credit_card", "aws_key")

SENTENCES: dict[str, list[str]] = {
    "email": [
        "You can reach me at {value} if you have any questions.",
        "Send your photos to {value} and we will share the best ones next week.",
        "For bookings, write to {value} with your dates and the number of guests.",
        "My email is {value}, so feel free to get in touch.",
    ],
    "phone": [
        "Call our office at {value} for more details.",
        "If the problem comes back, phone me on {value} any evening.",
        "The front desk can be reached at {value} between nine and five.",
        "Text {value} and someone from the team will answer within the hour.",
    ],
    "ip_address": [
        "The server at {value} went down twice last week.",
        "Our logs show every request coming from {value} during the outage.",
        "I set the router to forward the port to {value} and it finally worked.",
    ],
    "credit_card": [
        "I paid with my card {value} and the charge went through twice.",
        "The shop saved my card number {value} without asking me first.",
        "For the deposit they asked for a card, so I gave them {value} over the phone.",
    ],
    "aws_key": [
        "Our old deploy script still had the key {value} hard coded in it.",
        "The access key {value} was committed to the public repository by mistake.",
        "Set the access key id to {value} in the config and restart the service.",
    ],
}
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "example.org", "proton.me", "icloud.com", "mail.de"]
AWS_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def luhn_check_digit(digits: str) -> str:
    """The digit that makes `digits` + it pass the Luhn check."""
    total = 0
    for index, character in enumerate(reversed(digits)):
        digit = int(character)
        if index % 2 == 0:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return str((10 - total % 10) % 10)


def passes_luhn(number: str) -> bool:
    digits = [int(character) for character in number if character.isdigit()]
    checksum = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 1:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        checksum += digit
    return checksum % 10 == 0


def _email(rng: random.Random) -> str:
    first = rng.choice(entries(words.FIRST_NAMES)).lower()
    last = rng.choice(entries(words.LAST_NAMES)).lower()
    local = rng.choice(
        [f"{first}.{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}", f"{first}_{last}"]
    )
    domain = rng.choice([*EMAIL_DOMAINS, f"{rng.choice(entries(words.BRANDS)).lower()}.com"])
    return f"{local}@{domain}"


def _phone(rng: random.Random) -> str:
    area, middle, last = rng.randint(201, 989), rng.randint(200, 999), rng.randint(0, 9999)
    return rng.choice(
        [
            f"({area}) {middle}-{last:04d}",
            f"{area}-{middle}-{last:04d}",
            f"+1 {area} {middle} {last:04d}",
            f"+44 20 {rng.randint(7000, 8999)} {last:04d}",
            f"+49 30 {rng.randint(100000, 999999)}",
        ]
    )


def _ip_address(rng: random.Random) -> str:
    first = rng.choice([203, 198, 192, 172, 84, 91, 145, 62, 10])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _credit_card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15), ("6011", 16)])
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    number = body + luhn_check_digit(body)
    if length == 15:
        return f"{number[:4]} {number[4:10]} {number[10:]}"
    separator = rng.choice([" ", "-", ""])
    return separator.join(number[start : start + 4] for start in range(0, 16, 4))


def _aws_key(rng: random.Random) -> str:
    return "AKIA" + "".join(rng.choice(AWS_KEY_ALPHABET) for _ in range(16))


VALUE_MAKERS = {
    "email": _email,
    "phone": _phone,
    "ip_address": _ip_address,
    "credit_card": _credit_card,
    "aws_key": _aws_key,
}


def insert_personal_data(rng: random.Random, text: str) -> tuple[str, list[tuple[str, str]]]:
    """Add one to three sentences carrying personal data to the body paragraphs; return (text, [(kind, value)])."""
    paragraphs = text.split("\n\n")
    kinds = rng.sample(PII_KINDS, rng.choice([1, 1, 2, 2, 3]))
    found: list[tuple[str, str]] = []
    prose = [
        index for index, paragraph in enumerate(paragraphs) if index > 0 and len(paragraph.split()) >= 15
    ]
    for kind in kinds:
        value = VALUE_MAKERS[kind](rng)
        sentence = rng.choice(SENTENCES[kind]).format(value=value)
        target = rng.choice(prose) if prose else len(paragraphs) - 1
        paragraphs[target] = f"{paragraphs[target]} {sentence}"
        found.append((kind, value))
    return "\n\n".join(paragraphs), found
