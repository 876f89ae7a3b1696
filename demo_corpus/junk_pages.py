"""Pages a cleaning stage should drop: boilerplate, spam, lorem ipsum, and short or empty pages.

Each generator draws from a seeded `random.Random`, so a page is a pure function of its seed. Pages vary their
wording, names and numbers; pages of one kind still resemble each other, as they do in a real crawl.
"""

from __future__ import annotations

import random
import re

from demo_corpus import english_words as words
from demo_corpus.lexicon import entries

MENU_ITEMS = """Home|About|About Us|Contact|Contact Us|Blog|Shop|Cart|Login|Sign in|Register|FAQ|Careers|Press|Support
Help Center|Pricing|Features|Products|Services|Locations|Events|News|Gallery|Our Team|Partners|Sitemap|Search
Menu|Back to top|My account|Wishlist|Newsletter|Store locator|Gift cards|Deals|New arrivals|Best sellers
Resources|Downloads|Community|Forums|Jobs|Investors|Accessibility|Site map|Subscribe|Donate|Volunteer""".replace(
    "\n", "|"
).split("|")

COOKIE_BANNERS = [
    "We use cookies to {benefit} on our {site}. By {consent}, you agree to our use of cookies.",
    "This {site} uses cookies to {benefit}. {consent_cap} means you accept our cookie policy.",
    "Our {site} uses cookies and similar technologies to {benefit}. You can change your settings at any time.",
    "Cookies help us {benefit}. By {consent}, you consent to the use of cookies as described in our cookie policy.",
    "We and our partners use cookies to {benefit} and to measure how our {site} is used.",
]
COOKIE_BENEFITS = [
    "improve your experience", "personalise content and ads", "analyse our traffic", "remember your preferences",
    "provide social media features", "show you relevant offers", "keep you signed in",
]  # fmt: skip
COOKIE_CONSENTS = ["continuing to browse", "clicking Accept", "using this site", "closing this banner"]
COOKIE_BUTTONS = [
    "Accept",
    "Accept all",
    "Decline",
    "Reject all",
    "Manage preferences",
    "Cookie settings",
    "OK",
    "Got it",
]
JAVASCRIPT_NOTICES = [
    "JavaScript is required to view this page.",
    "Please enable JavaScript in your browser settings and reload the page.",
    "You need to enable JavaScript to run this app.",
    "This site works best with JavaScript enabled.",
    "Your browser does not support JavaScript or it is turned off.",
    "JavaScript seems to be disabled in your browser. For the best experience on our site, be sure to turn on JavaScript.",
]
FOOTER_LINKS = ["Privacy Policy", "Terms of Use", "Cookie Policy", "Terms and Conditions", "Accessibility Statement",
                "Do Not Sell My Personal Information", "Legal Notice", "Imprint", "Disclaimer"]  # fmt: skip
SOCIAL_LINES = ["Share on Facebook", "Share on Twitter", "Tweet", "Pin it", "Follow us on Instagram", "Share this article",
                "Like us on Facebook", "Follow us on LinkedIn", "Watch us on YouTube", "Email this page"]  # fmt: skip
NEWSLETTER_LINES = ["Subscribe to our newsletter", "Enter your email address", "Sign up", "Subscribe",
                    "No spam, unsubscribe at any time.", "Get the latest news and offers straight to your inbox.",
                    "Join our mailing list"]  # fmt: skip
LOGIN_LINES = ["Sign in to continue", "Forgot your password?", "Create an account", "Remember me", "Log in",
               "Username", "Password", "Sign in with Google", "New here? Register now"]  # fmt: skip
NOT_FOUND_LINES = ["Page not found", "404", "Sorry, the page you are looking for does not exist.",
                   "It may have been moved or deleted.", "Go back to the homepage", "Error 404: Not Found"]  # fmt: skip

SPAM_GOODS = ["watches", "replica handbags", "weight loss pills", "casino bonus", "crypto signals",
              "essay writing service", "SEO backlinks", "Instagram followers", "cheap flights", "phone cases",
              "designer sunglasses", "payday loans", "diet tea", "sneakers", "VPN accounts", "gift card codes"]  # fmt: skip
SPAM_ADJECTIVES = [
    "cheap",
    "best",
    "discount",
    "free",
    "top",
    "cheapest",
    "original",
    "official",
    "genuine",
    "100%",
]
SPAM_SHOUTS = ["BUY NOW!!!", "CLICK HERE!!!", "LIMITED TIME OFFER!!!", "ORDER TODAY!!!", "DON'T MISS OUT!!!",
               "FREE SHIPPING!!!", "ACT NOW!!!", "BEST PRICE GUARANTEED!!!"]  # fmt: skip
SPAM_LINES = [
    "Click here to buy {adj} {goods} now!",
    "Buy {adj} {goods} online, {adj} {goods} for sale, {goods} {goods} {goods}.",
    "Best {goods} best price best quality best {goods}.",
    "Visit www.{domain}.com for {adj} {goods}!!!",
    "Limited offer: {goods} 90% off, click here, click here, click here.",
    "Call now to get your {adj} {goods} today, free shipping worldwide.",
    "{goods} {goods} cheap {goods} discount {goods} sale {goods} online.",
    "Earn $500 a day from home, no experience needed, click here!",
    "Why pay more? Get {adj} {goods} here, {adj} {goods} here, {adj} {goods} here.",
]

LOREM_TEXT = """lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et
dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo
consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla pariatur excepteur sint
occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum curabitur pretium
tincidunt lacus nulla gravida orci a odio nullam varius turpis et commodo pharetra est eros bibendum elit nec
luctus magna felis sollicitudin mauris integer in mauris eu nibh euismod gravida duis ac tellus et risus vulputate
vehicula donec lobortis risus a elit etiam tempor ut ullamcorper ligula eu tempor congue eros est euismod turpis
id tincidunt sapien risus a quam maecenas fermentum consequat mi donec fermentum pellentesque malesuada nulla a mi
duis sapien sem aliquet nec commodo eget consequat quis neque aliquam faucibus elit ut dictum aliquet felis nisl
adipiscing sapien sed malesuada diam lacus eget erat cras mollis scelerisque nunc nullam arcu aliquam erat"""
LOREM_WORDS = LOREM_TEXT.split()
LOREM_OPENING = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua."
LOREM_HEADINGS = ["Welcome to our website", "About Us", "Our Services", "Sample Page", "Hello world!", "Title goes here",
                  "Your headline here", "Featured Product", "Latest News", "Our Mission"]  # fmt: skip

SHORT_PAGES = [
    "Coming soon.", "Under construction", "Thanks for the {noun} tip, it worked!", "Great post, thank you!",
    "403 Forbidden", "Access denied.", "This account has been suspended.", "Nice {noun}! Where did you get it?",
    "Out of stock", "Loading...", "Click to enlarge", "See more photos of the {noun}.", "{brand} {noun}, {price}, in stock",
    "Posted in {topic} | Leave a comment", "First!", "Domain for sale: {brand}{noun}.com", "Subscribe for updates.",
    "Redirecting to the new site...", "Sorry, this {noun} is no longer available.",
]  # fmt: skip


def _site_name(rng: random.Random) -> str:
    brand = rng.choice(entries(words.BRANDS))
    return rng.choice(
        [brand, f"{brand} {rng.choice(['Media', 'Store', 'Online', 'Group', 'Co', 'Hub', 'Blog'])}"]
    )


def _menu(rng: random.Random) -> list[str]:
    return rng.sample(MENU_ITEMS, rng.randint(5, 12))


def _cookie_banner(rng: random.Random) -> list[str]:
    consent = rng.choice(COOKIE_CONSENTS)
    banner = rng.choice(COOKIE_BANNERS).format(
        benefit=rng.choice(COOKIE_BENEFITS),
        site=rng.choice(["website", "site", "pages", "online store"]),
        consent=consent,
        consent_cap=consent[0].upper() + consent[1:],
    )
    return [banner, " | ".join(rng.sample(COOKIE_BUTTONS, rng.randint(2, 3)))]


def _footer(rng: random.Random, site: str) -> list[str]:
    return [
        " | ".join(rng.sample(FOOTER_LINKS, rng.randint(3, 5))),
        f"© {rng.randint(2008, 2024)} {site}. All rights reserved.",
    ]


def boilerplate_page(rng: random.Random) -> str:
    """Navigation, cookie banner, JavaScript notice, sign-in or newsletter boxes, footer: no content at all."""
    site = _site_name(rng)
    blocks: list[list[str]] = [[site], _menu(rng)]
    optional = [
        lambda: _cookie_banner(rng),
        lambda: rng.sample(JAVASCRIPT_NOTICES, rng.randint(1, 2)),
        lambda: rng.sample(SOCIAL_LINES, rng.randint(2, 5)),
        lambda: rng.sample(NEWSLETTER_LINES, rng.randint(2, 4)),
        lambda: rng.sample(LOGIN_LINES, rng.randint(3, 6)),
        lambda: rng.sample(NOT_FOUND_LINES, rng.randint(2, 4)),
        lambda: [f"Home > {rng.choice(MENU_ITEMS)} > {rng.choice(MENU_ITEMS)}"],
        lambda: ["Previous " + " ".join(str(page) for page in range(1, rng.randint(4, 9))) + " Next"],
    ]
    for make_block in rng.sample(optional, rng.randint(3, 6)):
        blocks.append(make_block())
    blocks.append(_footer(rng, site))
    while sum(len(line.split()) for block in blocks for line in block) < 60:
        blocks.insert(-1, _menu(rng) + _cookie_banner(rng))
    while _short_line_share([line for block in blocks for line in block]) < 0.75:
        blocks.insert(1, _menu(rng))
    return "\n\n".join("\n".join(block) for block in blocks)


def _short_line_share(lines: list[str]) -> float:
    """Share of lines of at most 30 characters: navigation-heavy pages are mostly such lines."""
    return sum(len(line) <= 30 for line in lines) / len(lines)


def spam_page(rng: random.Random) -> str:
    """Keyword stuffing, shouting and the same lines again and again."""
    goods = rng.choice(SPAM_GOODS)
    domain = f"{rng.choice(SPAM_ADJECTIVES[:4])}-{goods.split()[-1].lower()}-{rng.randint(1, 999)}"
    lines = [f"{rng.choice(SPAM_ADJECTIVES).upper()} {goods.upper()} {rng.choice(SPAM_SHOUTS)}"]
    favourite = rng.choice(SPAM_LINES)
    for _ in range(rng.randint(8, 30)):
        template = favourite if rng.random() < 0.45 else rng.choice(SPAM_LINES)
        lines.append(template.format(adj=rng.choice(SPAM_ADJECTIVES), goods=goods, domain=domain))
        if rng.random() < 0.2:
            lines.append(rng.choice(SPAM_SHOUTS))
    lines.append(" ".join([goods] * rng.randint(5, 15)))
    return "\n".join(lines)


def lorem_page(rng: random.Random) -> str:
    """A template page nobody filled in: a heading or two and paragraphs of lorem ipsum."""
    paragraphs = []
    for index in range(rng.randint(2, 6)):
        sentences = [LOREM_OPENING] if index == 0 else []
        for _ in range(rng.randint(2, 6)):
            sentence = " ".join(rng.choice(LOREM_WORDS) for _ in range(rng.randint(6, 16)))
            sentences.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", ".", "?"]))
        paragraphs.append(" ".join(sentences))
    headings = rng.sample(LOREM_HEADINGS, len(paragraphs))
    return "\n\n".join(
        f"{heading}\n{paragraph}" for heading, paragraph in zip(headings, paragraphs, strict=True)
    )


def short_page(rng: random.Random, english_snippet: str) -> str:
    """Under 50 words: a stub, an error, a one-line comment, a clipped article, or nothing but whitespace."""
    choice = rng.random()
    if choice < 0.06:
        return rng.choice(["", " ", "\n", "\n\n"])
    if choice < 0.5:
        word_ends = [match.end() for match in re.finditer(r"\S+", english_snippet)]
        return english_snippet[: word_ends[min(rng.randint(8, 45), len(word_ends)) - 1]] if word_ends else ""
    page = rng.choice(SHORT_PAGES).format(
        noun=rng.choice(entries(words.GENERAL_NOUNS)).split("/")[0],
        brand=rng.choice(entries(words.BRANDS)),
        price=f"${rng.randint(5, 300)}.{rng.choice(['00', '49', '99'])}",
        topic=rng.choice(list(words.TOPICS)).title(),
    )
    return f"{_site_name(rng)}\n{page}" if rng.random() < 0.5 else page


SYNDICATION_LINES = [
    "This article was originally published on {site} on {month} {day}, {year}.",
    "Read more stories like this one at {site}.",
    "Editor's note: this story has been updated with new figures from {site}.",
    "A version of this story first appeared in the {site} newsletter.",
    "Republished with permission from {site}, where it ran earlier this {weekday}.",
    "If you enjoyed this piece, you can find more of our coverage at {site} every {weekday}.",
    "Got a tip or a correction? Our editors at {site} read every message we receive.",
    "Photos for this story were provided by readers of {site}.",
]


def syndication_note(rng: random.Random) -> str:
    """Lines a republishing site adds around a story: plain sentences that a line filter keeps."""
    site = _site_name(rng)
    lines = rng.sample(SYNDICATION_LINES, rng.randint(1, 3))
    return "\n".join(
        line.format(
            site=site,
            month=rng.choice(words.MONTHS.split()),
            day=rng.randint(1, 28),
            year=rng.randint(2015, 2024),
            weekday=rng.choice(words.WEEKDAYS.split()),
        )
        for line in lines
    )
