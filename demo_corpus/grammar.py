"""The phrase templates English demo documents are assembled from.

A sentence is a row of pieces: [opener] subject verb-phrase [object] [place/time] [connector subject
verb-phrase [object] [place/time]] terminal. Pieces hold few fixed words and many slots, so two unrelated
documents share almost no 5-word shingles while the text keeps the function-word statistics of English.

Slots: {N}/{NS} noun singular/plural, {M} mass noun, {TN}/{TNS} topic noun, {A} adjective, {R} adverb,
{V} {VS} {VD} {VG} {VN} verb base/3rd person/past/gerund/participle, {FN} {LN} first/last name, {CITY},
{ORG}, {PROD} product, {MODEL}, {NUM} (two or more), {YEAR}, {MONTH}, {DAY} (weekday), {DATE} (day of month),
{PRICE}, {RATING}, {USER}. Special tokens: PARA (paragraph break), OPENQ/CLOSEQ (quotation marks).
"""

from __future__ import annotations

SUBJECT_SINGULAR = """
the {N} | this {N} | our {N} | my {N} | the {A} {N} | {FN} | {FN} {LN} | every {N} | each {N} | the {N} of the {N}
one of the {NS} | everyone | nobody | it | she | he | the {TN} | that {A} {N} | the {M} | the {N} at {ORG}
the {N} in {CITY} | her {N} | his {A} {N} | the first {N} | the new {TN} | a {A} {N} | the {N} we {VD}
my {A} {TN} | the {N} near the {TN} | {ORG} | the {N} from {CITY} | the last {N} | another {N} | the {A} {M}
your {TN} | the old {N} | a {N} like this | the {TN} next door | the {A} {TN} | the {TN} on the {N}
this kind of {TN} | the whole {N} | a good {TN} | the {N} she {VD} | the {N} that {VS} the {TN}
"""

SUBJECT_PLURAL = """
we | you | they | the {NS} | many {NS} | most {NS} | some {NS} | our {NS} | these {NS} | those {NS}
both {NS} | the {A} {NS} | {NUM} {NS} | people | the {NS} of the {N} | the {NS} at {ORG} | all of the {NS}
the {TNS} | my {NS} | their {NS} | {FN} and {FN} | {FN} and I | the {NS} in {CITY} | a few {NS}
several {NS} | other {NS} | most of our {NS} | {A} {NS} | the best {NS} | the {TNS} we {VD} | your {TNS}
the {A} {TNS} | my {TNS} | a lot of {NS} | the {NS} behind the {TN} | {A} {TNS} | the {NS} that {VD} the {TN}
"""

VERB_PHRASE_TRANSITIVE_SINGULAR = """
{VS} | {VD} | will {V} | can {V} | should {V} | has {VN} | had {VN} | is {VG} | was {VG} | might {V}
does not {V} | did not {V} | never {VD} | often {VS} | {R} {VS} | {R} {VD} | wants to {V} | tried to {V}
has to {V} | needs to {V} | is going to {V} | could {R} {V} | would {V} | started {VG} | keeps {VG}
stopped {VG} | has already {VN} | may {V} | must {V} | could not {V} | finally {VD} | decided to {V}
managed to {V} | seems to {V} | is trying to {V} | has never {VN} | will probably {V} | rarely {VS}
still {VS} | just {VD} | also {VS} | usually {VS} | sometimes {VD} | helped us {V} | refused to {V}
forgot to {V} | learned to {V} | hopes to {V} | was able to {V} | {VD} and {VD} | {VS} and {VS}
"""

VERB_PHRASE_TRANSITIVE_PLURAL = """
{V} | {VD} | will {V} | can {V} | should {V} | have {VN} | had {VN} | are {VG} | were {VG} | might {V}
do not {V} | did not {V} | never {VD} | often {V} | {R} {V} | {R} {VD} | want to {V} | tried to {V}
have to {V} | need to {V} | are going to {V} | could {R} {V} | would {V} | started {VG} | keep {VG}
stopped {VG} | have already {VN} | may {V} | must {V} | could not {V} | finally {VD} | decided to {V}
managed to {V} | seem to {V} | are trying to {V} | have never {VN} | will probably {V} | rarely {V}
still {V} | just {VD} | also {V} | usually {V} | sometimes {VD} | tend to {V} | used to {V}
are able to {V} | love to {V} | began to {V} | {VD} and {VD} | {V} and {V}
"""

VERB_PHRASE_COMPLETE_SINGULAR = """
is {A} | was {A} | seems {A} | looks {A} | became {A} | is {R} {A} | is not {A} | was {VN} by the {N}
was {VN} in {YEAR} | has been {A} for years | is {A} enough | remains {A} | is as {A} as the {N}
was {VN} {R} | is the {A} {N} | is a {A} {N} | felt {A} | got {A} | is still {A} | was never {A} | can be {A}
will be {A} | turned out to be {A} | is known for its {A} {NS} | is {VN} every {N} | was {VN} last {MONTH}
sounds {A} | is not as {A} as the {N} | was {A} and {A} | is one of the most {A} {NS} | was {VN} twice
has been {VN} by {ORG}
"""

VERB_PHRASE_COMPLETE_PLURAL = """
are {A} | were {A} | seem {A} | look {A} | became {A} | are {R} {A} | are not {A} | were {VN} by the {N}
were {VN} in {YEAR} | have been {A} for years | are {A} enough | remain {A} | are as {A} as the {NS}
were {VN} {R} | are the {A} {NS} | felt {A} | got {A} | are still {A} | were never {A} | can be {A}
will be {A} | turned out to be {A} | are known for their {A} {NS} | are {VN} every {N} | were {VN} last {MONTH}
sound {A} | are not as {A} as the {NS} | were {A} and {A} | are among the most {A} {NS} | were {VN} twice
have been {VN} by {ORG}
"""

OBJECT = """
the {N} | a {N} | a {A} {N} | the {A} {N} | {NS} | {A} {NS} | the {NS} | some {NS} | their {N} | his {N}
her {NS} | our {N} | your {N} | the {N} of the {N} | a lot of {NS} | more {NS} | the {TN} | every {N}
this {N} | both {NS} and {NS} | the {N} and the {N} | {NUM} {NS} | a few {NS} | the same {N} | another {N}
the whole {N} | the {NS} from {CITY} | {FN} | it | them | the {M} | some {M} | more {M} | a bit of {M}
the {TNS} | a {A} {TN} | my {TN} | the {A} {TNS} | two {TNS} | the {TN} and the {M} | a new {TN}
the {PROD} | their {A} {TNS} | the {M} and the {NS} | every {TN} | the old {TNS} | less {M} | enough {M}
"""

PLACE_OR_TIME = """
in the {N} | at the {N} | for the {N} | with a {A} {N} | with {NS} | without the {N} | during the {N}
after the {N} | before {NS} | in {CITY} | in {YEAR} | on {DAY} | in {MONTH} | for {NUM} {NS} | at {ORG}
over the {N} | through the {N} | under the {N} | by the end of the {N} | like a {N} | as a {N}
around the {N} | near the {N} | across the {N} | for a while | every {N} | since {YEAR} | until {MONTH}
for about {NUM} {NS} | at least once a {N} | with the {TN} | in the {TN} | for the {TNS} | without {M}
with a little {M} | on the {A} {N} | from the {TN} | after {NUM} {NS} | last {DAY} | next {MONTH}
for the first time | in the {A} {NS} | with {A} {M} | on the way to the {N} | between the {NS}
"""

CONNECTOR = """
, and | , but | , so | because | while | although | when | , which means | since | after | before | until
if | so that | even though | as | whereas | ; however , | , and then | once | unless | , yet | whenever
and | , and now | as soon as | , even if
"""

OPENER = """
however , | in fact , | for example , | of course , | still , | meanwhile , | later , | today , | last {MONTH} ,
in {YEAR} , | on {DAY} , | according to {FN} {LN} , | in my experience , | to be honest , | at first ,
in the end , | as a result , | because of the {N} , | after the {N} , | before {VG} the {N} ,
when we {VD} the {N} , | if you {V} the {TN} , | unlike the {N} , | in {CITY} , | for the {NS} ,
surprisingly , | fortunately , | unfortunately , | honestly , | interestingly , | in general ,
most of the time , | every {N} , | once a {N} , | I think | I believe that | we found that | it is {A} that
it seems that | many {NS} say that | {FN} {LN} said that | I noticed that | the truth is that
my {N} told me that | some {NS} argue that | experts say that | it turns out that | the problem is that
what matters is that | research shows that | at the same time , | by {YEAR} , | without the {M} ,
after {NUM} {NS} , | in the {A} {N} , | since the {TN} {VD} , | now that we {VD} the {TNS} , | as {FN} put it ,
"""

QUESTION = """
have you ever {VN} a {A} {N} ? | why do {NS} {V} the {N} ? | what is the best way to {V} a {TN} ?
is it {A} to {V} the {TN} ? | did the {N} {V} the {N} ? | how often do you {V} your {TN} ?
can a {N} really {V} {NS} ? | where can I {V} a {A} {TN} ? | who {VD} the {TN} first ?
why would anyone {V} a {A} {TN} ? | does the {TN} {V} the {M} ? | what happens if you {V} the {TN} ?
should we {V} the {TNS} or the {NS} ? | how do {NS} {V} {A} {TNS} ? | is the {TN} worth the {N} ?
"""

QUOTE_ATTRIBUTION = """
, CLOSEQ said {FN} {LN} . | , CLOSEQ {FN} {LN} told reporters . | , CLOSEQ she said . | , CLOSEQ he said .
, CLOSEQ said {FN} {LN} , a {A} {N} at {ORG} . | , CLOSEQ {FN} {LN} said on {DAY} .
, CLOSEQ according to a {N} at {ORG} . | , CLOSEQ said one {N} in {CITY} .
"""

BLOG_TITLE = """
how to {V} {A} {TNS} at home | {NUM} tips for {VG} your {TN} | why I stopped {VG} {TNS}
the {A} guide to {TNS} | what I learned from {VG} {TNS} | my {A} {TN} experiment | a {A} way to {V} your {TN}
{A} {TNS} and why they matter | everything you need to know about {TNS} | is the {TN} really worth it ?
how we {VD} our {TN} in {NUM} weeks | the {TN} mistakes I made so you do not have to
"""

NEWS_TITLE = """
{ORG} plans to {V} {A} {TNS} | {CITY} {NS} {V} new {TN} rules | {FN} {LN} {VS} {A} {TN} in {CITY}
study finds {TNS} {V} {A} {NS} | {A} {TN} draws crowds in {CITY} | report : {NS} are {VG} more {TNS}
{CITY} {TN} {VD} after {NUM} years | {ORG} {VS} {TN} amid {A} {M} | officials {V} {A} {TN} in {CITY}
"""

FORUM_TITLE = """
re : best way to {V} a {A} {TN} ? | re : problem with my {TN} | re : anyone else {VG} {TNS} ?
re : advice on {VG} {TNS} | re : {A} {TN} after {NUM} {NS} | re : should I {V} my {TN} ?
"""

PRODUCT_TITLE = """
{PROD} {MODEL} | {PROD} {MODEL} for {A} {TNS} | the {A} {PROD} {MODEL} | {PROD} {MODEL} , {A} edition
"""

NEWS_BYLINE = """
by {FN} {LN} PARA published {MONTH} {DATE} , {YEAR} | {CITY} , {MONTH} {DATE} , {YEAR}
by {FN} {LN} , {CITY} | updated {DAY} , {MONTH} {DATE} , {YEAR}
"""

FORUM_BYLINE = """
posted by {USER} | posted by {USER} on {MONTH} {DATE} , {YEAR} | reply from {USER}
"""

PRODUCT_LINES = """
price : {PRICE} | price : {PRICE} PARA rating : {RATING} out of 5 | sale price : {PRICE} , was {PRICE}
"""

BLOG_INTRO = """
I have been {VG} {TNS} for {NUM} years , and I still learn something new every {N} .
this post is about {TNS} , a topic that many of you ask me about .
a few {NS} ago , I decided to {V} my {TN} for good .
if you are new to {TNS} , this guide is for you .
last {MONTH} , my {N} asked me how I {V} {TNS} , so here is the whole story .
when I first started {VG} {TNS} , I made every {N} in the book .
"""

BLOG_OUTRO = """
let me know in the comments how your {TN} turns out . | thanks for reading , and happy {VG} !
I hope this helps you {V} your next {TN} . | if you try this , tell me what you think of the {TN} .
see you in the next post , and good luck with your {TNS} . | that is all for now , more {TNS} next {DAY} .
"""

FORUM_INTRO = """
I had the same problem with my {TN} last {MONTH} . | have you tried {VG} the {TN} first ?
short answer : it depends on the {N} . | I can confirm what {USER} said about the {TN} .
this comes up a lot , so here is what worked for me . | good question , and one I asked myself in {YEAR} .
"""

FORUM_SIGNOFF = """
hope this helps . | good luck with your {TN} ! | cheers , {FN} . | just my two cents .
let us know how it goes . | edit : fixed a typo in the second paragraph .
"""

PRODUCT_INTRO = """
the {PROD} {MODEL} is built for {NS} who {V} {TNS} every {N} .
meet the {PROD} , our answer to the {A} {TN} .
designed in {CITY} , the {PROD} {VS} {A} {TNS} with less {M} .
"""

PRODUCT_REVIEW = """
I bought this for my {N} and it {VD} the {TN} in a {N} . | five stars , the {TN} {VS} {R} .
it arrived in {NUM} days and the {N} was {A} . | my {NS} love it , although the {N} is a bit {A} .
works as described , and the {M} is {A} . | returned it because the {TN} {VD} after a {N} .
"""

REVIEW_HEADING = "customer reviews | what buyers say | reviews"


def phrases(block: str) -> list[str]:
    """Split a block of templates on `|` and newlines into a list of phrase strings."""
    return [
        phrase.strip() for line in block.strip().splitlines() for phrase in line.split("|") if phrase.strip()
    ]
