"""What kind of answer a question asks for, and the spans of a sentence that could be it.

`expected(question)` reads the question's wh-word and head noun: a person or organisation
("who", "which company"), a place ("where", "which country"), a date ("when", "what year"), a
number or amount ("how many", "how much", "what percentage"), a duration ("how long"), a title
or name ("what is the name of", "which film"), or nothing in particular ("what did X say", "why",
"how"), which only sentences answer. `spans(text, kind)` finds the candidate values in a
sentence: runs of capitalised words, quoted titles, numbers with their units and dates. Pure
string work: no model, no index.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from dataclasses import dataclass

from index.lexical import terms

# Answer kinds.
PERSON = "person"  # a person or an organisation: who / which company
PLACE = "place"
DATE = "date"
NUMBER = "number"
DURATION = "duration"
NAME = "name"  # a named thing of any kind: which film / what is the name of / which X
CHOICE = "choice"  # "X or Y?"
NONE = "none"  # what did X say / why / how: answered by sentences, not by a value

FACTOID_KINDS = {PERSON, PLACE, DATE, NUMBER, DURATION, NAME, CHOICE}

_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec")
_DAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_NUMBER_WORDS = ("one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                 "fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
                 "fifty|sixty|seventy|eighty|ninety|hundred|dozen|dozens|hundreds|thousands|"
                 "millions|half|a dozen")
_SCALE = r"(?:\s+(?:million|billion|trillion|thousand|hundred|bn|m)\b)?"
# "30-day" counts days as "30 days" does.
_UNIT = (r"(?:\s*(?:%|percent|per cent|percentage points?)|-[a-z]+(?:-[a-z]+)*\b|\s+(?:square\s+)?(?:kilometres|"
         r"kilometers|km|miles|metres|meters|feet|foot|inches|acres|hectares|tons|tonnes|pounds|"
         r"kilograms|kg|degrees|points|votes|people|years?|months?|weeks?|days?|hours?|minutes?|"
         r"seconds?|times|matches|games|seats|cases|deaths|vehicles|cars|units|children|"
         r"employees|jobs|stores|(?!(?:was|is|has|as|this|its|his|us|does|less|across|plus|thus|"
         r"unless|perhaps|whereas|always|yes)\b)[a-z]+s\b))?")
_NUM = (rf"(?:(?:about|around|nearly|almost|over|more than|less than|at least|up to|some|"
        rf"roughly|approximately|just over|just under)\s+)?"
        rf"(?:[$£€¥]\s?\d[\d,]*(?:\.\d+)?{_SCALE}|(?<![^\W\d_])\d[\d,]*(?:\.\d+)?(?![^\W\d_])"
        rf"{_SCALE}(?:-\d[\d,]*)?"
        rf"|\b(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*\b{_SCALE})")
NUMBER_RE = re.compile(rf"{_NUM}{_UNIT}", re.I)
DURATION_RE = re.compile(
    rf"{_NUM}\s*(?:-\s*)?(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?)\b",
    re.I)
DATE_RE = re.compile(
    rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?"
    rf"\s+(?:{_MONTHS})(?:,?\s+\d{{4}})?|(?:early |late |mid-)?(?:{_MONTHS})(?:\s+\d{{4}})?|"
    rf"(?:last |next |on |this )?(?:{_DAYS})|(?:in |since )?(?:1[89]|20)\d\d|"
    r"(?:last|next|this) (?:week|month|year|weekend))\b")
_QUOTED = re.compile(r"[“\"‘']([^“”\"‘’]{2,60}?)[”\"’']")
# A run of capitalised words, with the small words names carry inside ("Bank of England",
# "Bed Bath & Beyond", "I'm a Celebrity"); digits join a run only after a capital ("BA.5").
# A run starts at a word's start, with one lower-case letter before the capital ("iPhone",
# "eBay"): never inside a word ("Phone" of "iPhone", "OS" of "macOS").
_CAP = r"(?:[A-Z][\w'’.&*-]*|[A-Z]{2,}|\*[A-Z]+)"
_CAP_RUN = re.compile(rf"(?<![^\W\d_])[a-z]?{_CAP}(?:(?:\s+(?:of|the|de|du|da|von|van|and|&|for|al|bin|on|in|la)"
                      rf")*\s+{_CAP})*")
# Words that open a sentence (or a question quoted in an article) and are no part of the name
# after them ("Will Louisiana ...?", "Starting Monday, ...").
_OPENERS = set("""Will Can Could Should Would Did Does Do Is Are Was Were Has Have Had Since
Although Though Because Once Despite During Following Amid Like Unlike Without Among Even Just
Only Starting Beginning Including Until Unless Whether Why""".split())
_OPENING = " \"“‘'([-—–"  # what may come before a sentence's first word
# Capitalised words that are no value on their own.
_NOT_NAMES = set("""A An The This That These Those It Its He She They We I You His Her Their Our
But And Or So If In On At By For From With As Of To Into After Before When While Where Which
What Who Why How Mr Mrs Ms Dr Sen Rep Gov President Prime Minister Secretary Officials Police
According However Meanwhile Also Still Now Then Today Yesterday Last Next Monday Tuesday
Wednesday Thursday Friday Saturday Sunday January February March April May June July August
September October November December CNN AP Reuters Getty Images Photo Video Read More Click
Here Share Subscribe Sign Advertisement There Some Many Most All Each Every Other Such Several
Read Watch Update Updated Editor Note Story Source Related""".split())

_WHO = re.compile(r"\b(who|whom|whose)\b", re.I)
_PLACE_NOUNS = set("""country countries state states city cities town towns region regions area
place county province island islands nation continent capital neighborhood neighbourhood
district village location site venue port border sea ocean river lake mountain park airport
street road bridge landmark destination strait""".split())
# Organisations: a person is no answer to "which tabloid" or "which team".
ORG_NOUNS = set("""company companies firm automaker airline retailer chain brand network
organization organisation agency group team club band university college school party
manufacturer carmaker bank newspaper tabloid outlet platform app website channel broadcaster
studio restaurant supermarket pharmacy store startup giant insurer union""".split())
_PERSON_NOUNS = set("""person man woman actor actress athlete player star singer artist rapper
leader official politician president senator lawmaker candidate judge justice member minister
executive ceo founder director coach host celebrity comedian musician author writer journalist
player pope king queen prince princess monarch governor mayor footballer gymnast golfer
boxer driver pilot astronaut scientist chef rep representative nominee winner suspect
""".split()) | ORG_NOUNS
_DATE_NOUNS = set("year day date month week time season decade century deadline".split())
_NUMBER_HEADS = re.compile(
    r"\b(how (many|much)|what (percentage|percent|share|proportion|fraction|number|amount|"
    r"sum|price|score|age|total)|what (is|was|are|were) the (\w+ )?(price|cost|number|amount|"
    r"total|score|rate|population|age)|approximately how|roughly how|how old|what was the final score"
    r"|by how much)\b", re.I)
_DATE_HEADS = re.compile(r"(^|\b(?:finally|and|so|but),?\s+)when\b|\b(what (year|day|date|month|"
                         r"time)|which (year|day|date|month)|since when|on which day|how soon)\b",
                         re.I)
_NAME_HEADS = re.compile(r"\bwhat\s+(is|was|are|were)\s+(the\s+)?(name|title|called)\b|"
                         r"\bwhat is it called\b|\bwhat (?:is|was) (?:it|he|she|they) called\b",
                         re.I)
_DESCRIBE = re.compile(r"^\s*(why|how(?! (many|much|long|old|soon))|what (did|does|do|has|have|"
                       r"had|will|would|could|should|can)\b(?!.*\bname\b)|did|does|do|is|are|was|"
                       r"were|has|have|had|can|could|will|would)\b", re.I)
_YES_NO = re.compile(r"^\s*(is|are|was|were|did|does|do|has|have|had|could|can|will|would)\b", re.I)
_CHOICE = re.compile(r"\b(\w+)\s+or\s+(\w+(?:\s+\w+)?)\s*\?\s*$", re.I)


_GRAIN_Q = re.compile(r"\b(?:what|which|on|in)\s+(?:\w+\s+)?(day|date|month|year)\b", re.I)
_WEEKDAY = re.compile(rf"\b(?:{_DAYS})\b")
_DAY_OF_MONTH = re.compile(rf"\b(?:(?:{_MONTHS})\.?\s+\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS}))\b")
_YEAR_ONLY = re.compile(r"\b(?:1[89]|20)\d\d\b")
_MONTH_ONLY = re.compile(rf"\b(?:{_MONTHS})\b")


def date_grain(question: str) -> str | None:
    """What a date question asks for: a "day" (a weekday or a day of a month), a "month" or a
    "year"; None for a plain "when"."""
    m = _GRAIN_Q.search(question)
    if not m:
        return None
    g = m.group(1).lower()
    return "day" if g == "date" else g


def grain_fit(value: str, grain: str | None) -> float:
    """Does a date value hold the asked grain (1) or not (-1), or is the question a plain
    "when" (0)? "On which day" is answered by "on Wednesday" or "March 12", not "August";
    "March 12" holds a month too, "August 2024" a year ("last week" holds none)."""
    if grain is None:
        return 0.0
    held = set()
    if _WEEKDAY.search(value) or _DAY_OF_MONTH.search(value):
        held.add("day")
    if _MONTH_ONLY.search(value):
        held.add("month")
    if _YEAR_ONLY.search(value):
        held.add("year")
    return 1.0 if grain in held else -1.0


@dataclass(frozen=True)
class Span:
    start: int  # offsets inside the sentence text
    end: int
    text: str
    kind: str


_QUOTE_MARKS = re.compile(r"[“”\"]|(?<!\w)['‘’]|['‘’](?!\w)")


def _last_sentence(question: str) -> str:
    """The question's last sentence (quiz questions set a scene first), without quotation
    marks: "which “sleepy” town" asks for a town."""
    q = question.strip()
    last = re.split(r"(?<=[.?!])\s+", q)[-1] if q else q
    return _QUOTE_MARKS.sub("", last)


def yes_no(question: str) -> bool:
    """A question answered by yes or no ("Did Ukraine agree to the ceasefire?")."""
    return expected(question) == NONE and _YES_NO.match(_last_sentence(question)) is not None


def expected(question: str) -> str:
    """The kind of value that answers `question` (one of the kinds above)."""
    last = _last_sentence(question)
    if _YES_NO.match(last) and _CHOICE.search(last):
        return CHOICE
    if _DURATION_HEAD.search(last):
        return DURATION
    if _NUMBER_HEADS.search(last):
        return NUMBER
    if _DATE_HEADS.search(last):
        return DATE
    if re.search(r"\bwhere\b", last, re.I):
        return PLACE
    if _NAME_HEADS.search(last):
        return NAME
    if _DESCRIBE.search(last):
        return NONE
    if _WHO.search(last) and not re.match(r"^\s*(what|why|how)\b", last, re.I):
        return PERSON
    head = _which_head(last)
    if head is not None:
        return head
    if re.search(r"\b(which|what)\s+\w+", last, re.I) and not _DESCRIBE.search(last):
        return NAME
    if re.search(r"\bin which\b|\bwhich\b", last, re.I):
        return NAME
    return NONE


_HEAD_WORDS = re.compile(r"\b(which|what)\s+((?:[\w’'-]+\s*){1,5})", re.I)
# Words that end the noun phrase after "which": a verb or a preposition starts the rest.
_HEAD_STOPS = set("""is was were are has have had did does do will would can could became
won made said says announced recently this last next that to for in on at by from with as
after before during since about over into who whom whose when where while""".split())


def asks_for_organisation(question: str) -> bool:
    """Is the asked noun an organisation ("which social media platform", "which NBA team")?"""
    noun = type_noun(question)
    if not noun:
        return False
    head = noun.split()[-1].lower().strip("’'")
    return head in ORG_NOUNS or head.rstrip("s") in ORG_NOUNS


def _noun_kind(word: str) -> str | None:
    w = word.lower().strip("’'")
    if w in _PLACE_NOUNS:
        return PLACE
    if w in _DATE_NOUNS:
        return DATE
    if w in _PERSON_NOUNS or w.rstrip("s") in _PERSON_NOUNS:
        return PERSON
    return None


def _head_words(last: str) -> list[str] | None:
    """The noun phrase after "which" / "what" ("which Olympic gymnast won ...": Olympic
    gymnast), None when the question has none."""
    m = _HEAD_WORDS.search(last)
    if not m:
        return None
    words = m.group(2).split()
    if m.group(1).lower() == "what":
        if words and words[0].lower() in ("is", "was", "are", "were"):
            words = words[1:]
            if not words or words[0].lower() not in ("the", "a", "an"):
                return None  # "what is it", "what was said"
        elif words and words[0].lower() in _HEAD_STOPS:
            return None  # "what did ...", "what has ..."
    phrase: list[str] = []
    for w in words:
        if w.lower() in _HEAD_STOPS and phrase:
            break
        if w.lower() in ("the", "a", "an", "following") or w.lower() in _HEAD_STOPS:
            continue
        phrase.append(w)
        if w.lower() == "of":
            break
    return phrase or None


_NAME_OF = re.compile(r"\b(?:name|title|type|kind)\s+of\s+((?:[\w’'-]+\s*){1,6})", re.I)


def type_noun(question: str) -> str | None:
    """What the answer is, in the question's words ("Olympic gymnast", "city", "blaze"), to
    judge by meaning whether a candidate value is one; None when the question names none.
    "Who" and "where" give no noun: "person" and "place" as nouns changed no bench dev answer
    and made "Geneva" as likely a place as "Jeddah, Saudi Arabia"."""
    last = _last_sentence(question)
    m = _HEAD_WORDS.search(last)
    named = _NAME_OF.search(last)
    phrase: list[str] | None = None
    if named:  # "what is the name of the blaze": a blaze
        phrase = [w for w in named.group(1).split() if w.lower() not in ("the", "a", "an")]
        cut = next((i for i, w in enumerate(phrase) if w.lower() in _HEAD_STOPS), len(phrase))
        phrase = phrase[:cut]
    elif m and m.group(1).lower() == "which":  # "what" is as often followed by a verb ("what hit")
        phrase = _head_words(last)
    if phrase:
        # "the new variant identified in Kelby": the noun ends before a participle
        cut = next((i for i, w in enumerate(phrase) if i and len(w) > 5 and w.islower()
                    and w.endswith("ed")), len(phrase))
        words = phrase[:cut][:4]
        for i in range(len(words) - 1, -1, -1):
            if _noun_kind(words[i]) is not None:
                return " ".join(words[: i + 1])
        words = [w for w in words if w.lower() != "of"]
        if words and not (len(words) == 1 and words[0].lower() in ("name", "type", "kind")):
            return " ".join(words[:3])
    return None


def _which_head(last: str) -> str | None:
    """The kind the noun after "which"/"what" names, or NAME; None when there is none.

    The phrase ends at a verb-like stop word or at "of"; its head is its last place, date or
    person noun within four words ("which US state raises...": a place, "which Russian state
    news agency": a person, "which member of the squad": a person, "what is the official
    deadline": a date, "which type of weather": a name)."""
    phrase = _head_words(last)
    if not phrase:
        return None
    for w in reversed(phrase[:4]):  # the last noun of a noun phrase is its head
        kind = _noun_kind(w)
        if kind is not None:
            return kind
    if len(phrase) >= 2 and phrase[-1].lower() == "of" and phrase[-2].lower() in ("head", "chief"):
        return PERSON  # "which head of state"
    return NAME


_DURATION_HEAD = re.compile(r"\bhow long\b|\bfor how (long|many (days|weeks|months|years))\b",
                            re.I)


# A month before a day is a date, not a name ("Iowa Republicans will caucus Jan. 15").
_MONTH_WORD = re.compile(rf"^(?:{_MONTHS})\.?$")
_DAY_AFTER = re.compile(r"\.?\s+\d")


def _bare(word: str) -> str:
    """The word without its punctuation or possessive ("Editor's" is "Editor")."""
    w = word.strip(".,'’")
    return w[:-2] if w[-2:] in ("'s", "’s") else w


def _cap_runs(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _CAP_RUN.finditer(text):
        s, e = m.start(), m.end()
        words = text[s:e].split()
        # Drop leading and trailing words that are no names ("The", "But", "President").
        while words and (_bare(words[0]) in _NOT_NAMES or words[0].islower() or (
                words[0] in _OPENERS and len(words) > 1 and not text[:s].strip(_OPENING))):
            s += len(words[0])
            while s < e and text[s] == " ":
                s += 1
            words.pop(0)
        while words and (_bare(words[-1]) in _NOT_NAMES or words[-1].lower() in
                         ("of", "the", "and", "&", "for", "on", "in")
                         or _MONTH_WORD.match(words[-1]) and _DAY_AFTER.match(text, e)):
            e -= len(words[-1])
            while e > s and text[e - 1] == " ":
                e -= 1
            words.pop()
        if not words:
            continue
        while e > s and text[e - 1] in ".,'’-":
            if text[e - 1] == "." and re.search(r"\b[A-Z]\.$|\b(Jr|Sr|St|Inc|Co|Corp|Ltd)\.$", text[s:e]):
                break
            e -= 1
        if text[e - 2 : e] in ("'s", "’s"):
            e -= 2
        if e > s:
            out.append((s, e))
    return out


_AND = re.compile(r"\s+and\s+")


def _split_and(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """Two names joined by "and", either of several words, are two values ("San Antonio Spurs
    and Memphis Grizzlies"); "Bed Bath & Beyond" and "Tehama and Butte" stay one."""
    m = _AND.search(text, s, e)
    if m is None or m.end() >= e:
        return [(s, e)]
    left, right = text[s:m.start()], text[m.end():e]
    if " " not in left and " " not in right:
        return [(s, e)]
    after = m.end() + (4 if right.startswith("the ") else 0)  # "... and the Apple Vision Pro"
    return [(s, m.start()), *_split_and(text, after, e)]


# Figures that count nothing: the day of a date ("June 11"), a year ("in 2018 voters approved",
# or standing alone: "2030", not "2030 votes"), a clock time ("10:05", "2 a.m.").
_NOT_COUNTS = re.compile(
    rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?|\b\d{{1,2}}(?:st|nd|rd|th)?"
    rf"\s+(?:{_MONTHS})\b(?:,?\s+\d{{4}})?|\b(?i:in|since|by|until|from|before|after|during)\s+(?:1[89]|20)\d\d\b"
    rf"|\b\d{{1,2}}(?::\d\d)?\s*(?:a\.m\.|p\.m\.|am\b|pm\b)|\b\d{{1,2}}:\d\d\b")
# A number naming a thing ("Proposition 7", "Chapter 11") counts nothing.
_LABEL = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]+\s+\d+$")
# "one" as a pronoun ("a conservative one", "the only one"), not a count.
_PRONOUN_ONE = re.compile(r"\b(?:a|an|the|this|that|each|every|any|no|which|another)\s+(?:\w+\s+)?one$",
                          re.I)
# "Millions of ..." says there are many, not how many.
_VAGUE = re.compile(r"^(?:\w+\s+)?(?:dozens|hundreds|thousands|millions|billions)\b(?!\s+of\s+\d)", re.I)
_YEAR = re.compile(r"(?:1[89]|20)\d\d(?:-(?:1[89]|20)?\d\d)?")


def _counts(text: str, m: re.Match[str], dated: list[tuple[int, int]]) -> bool:
    """Is the figure `m` a count of something, not a date's day, a year, a clock time, a label,
    a vague "millions" or the pronoun "one"?"""
    figure = m.group(0)
    bare = figure.rstrip(",. ")
    return ((any(c.isdigit() for c in figure) or len(figure) > 2)
            and not any(a <= m.start() < b for a, b in dated)
            and not _YEAR.fullmatch(bare) and not _VAGUE.match(figure)
            and not (bare.isdigit() and _LABEL.search(text[:m.start() + len(bare)]))
            and not (bare.lower() == "one" and _PRONOUN_ONE.search(text[:m.start() + 3])))


def spans(text: str, kind: str, common: Callable[[str], bool] | None = None) -> list[Span]:
    """Candidate answer values of `kind` in a sentence, left to right, without overlaps.

    `common(word)` tells whether a word is also written in lower case nearby (in the
    articles the sentence is read with): a lone capitalised word opening the sentence that is
    ("Despite", "Grocery", "Photos") is the sentence's first word, not a name."""
    found: list[Span] = []
    if kind in (NUMBER,):
        dated = [(m.start(), m.end()) for m in _NOT_COUNTS.finditer(text)]
        found += [Span(m.start(), m.end(), m.group(0), NUMBER) for m in NUMBER_RE.finditer(text)
                  if _counts(text, m, dated)]
    elif kind == DURATION:
        found += [Span(m.start(), m.end(), m.group(0), DURATION) for m in DURATION_RE.finditer(text)]
    elif kind == DATE:
        found += [Span(m.start(), m.end(), m.group(0), DATE) for m in DATE_RE.finditer(text)]
    else:
        for m in _QUOTED.finditer(text):
            inner = m.group(1).strip()
            if inner and inner[0].isupper() and len(inner.split()) <= 8:
                found.append(Span(m.start(1), m.start(1) + len(inner), inner, NAME))
        taken = [(sp.start, sp.end) for sp in found]
        runs = _cap_runs(text)
        if kind == PLACE:  # "Jeddah, Saudi Arabia": a place and the country it is in
            joined: list[tuple[int, int]] = []
            for s, e in runs:
                if joined and text[joined[-1][1]:s] == ", " and " " not in text[joined[-1][0]:joined[-1][1]]:
                    joined[-1] = (joined[-1][0], e)
                else:
                    joined.append((s, e))
            runs = joined
        opening = len(text) - len(text.lstrip(_OPENING))
        runs = [r for run in runs for r in _split_and(text, *run)]
        for s, e in runs:
            if common is not None and s == opening and " " not in text[s:e] \
                    and common(text[s:e].lower()):
                continue
            if not any(a <= s < b or a < e <= b for a, b in taken):
                found.append(Span(s, e, text[s:e], NAME))
    cleaned = []
    for sp in sorted(found, key=lambda x: (x.start, -x.end)):
        t = sp.text.strip(" ,;:")
        if not t or (cleaned and sp.start < cleaned[-1].end):
            continue
        lead = len(sp.text) - len(sp.text.lstrip(" ,;:"))
        cleaned.append(Span(sp.start + lead, sp.start + lead + len(t), t, sp.kind))
    return cleaned


def choices(question: str) -> tuple[str, str] | None:
    """The two options of an "X or Y?" question."""
    m = _CHOICE.search(question.strip())
    return (m.group(1), m.group(2)) if m else None


@lru_cache(maxsize=200_000)
def word_term(word: str) -> str | None:
    """The term of one word (None for a stop word): cached, sentences repeat words."""
    t = terms(word)
    return t[0] if t else None
