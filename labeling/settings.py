"""How one labeling server behaves: its database, limits, cookie and reservation settings, guidelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from labeling.guidelines import DOCUMENT_GUIDELINES, PAIR_GUIDELINES
from labeling.limits import ServiceLimits


@dataclass(frozen=True)
class ServiceSettings:
    database_url: str
    limits: ServiceLimits = field(default_factory=ServiceLimits)
    secure_cookies: bool = False  # set behind HTTPS: the session cookie is then never sent in clear
    session_lifetime: timedelta = timedelta(hours=12)
    reservation: timedelta = timedelta(minutes=30)  # how long an open assignment holds its item
    pair_guidelines: tuple[str, ...] = PAIR_GUIDELINES
    document_guidelines: tuple[str, ...] = DOCUMENT_GUIDELINES
