"""Who says it: the speaker a sentence names, and whether a cited passage has the same speaker.

The lexical check makes sure a claim's words are in the passage it cites; it passes "Mr. Putin
said that he and the US had agreed that Ukraine would not be joining NATO" against a passage
where Ushakov says it, because "Putin" occurs a sentence later. This module reads attributions
("X said / told / warned", "according to X", "X's comments") with plain patterns, no parser:

- `claimed_speaker(text)`: the first named speaker a model's sentence attributes words to
  ("Mr. Putin said ..." -> Putin). Pronouns ("he said") and the sources themselves ("the
  passage says") name no one and are not checked.
- `sentence_speakers(text)`: every speaker a passage sentence names; a sentence that names none
  (a bare quote, "He said ...") takes the speaker of the nearest earlier sentence that does: who
  said it is often named one sentence before.
- `matches(claimed, speaker)`: a person by surname ("Yuri Ushakov" = "Mr Ushakov"), a role or an
  organisation by all its words ("the Kremlin aide" = "Kremlin aide Yuri Ushakov"). A person
  named only as a modifier ("a senior aide to Vladimir Putin", "Putin's aide") is not the
  speaker.

It is a heuristic over English news prose: it can miss an attribution (the claim is then checked
lexically only) and it can name the wrong person in a sentence with two speakers. It errs
towards dropping a claim: a dropped claim costs a sentence, a misattributed one costs trust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.lexical import terms

# Verbs that attribute words or a stated position to their subject, in a model's claim.
_CLAIM_VERBS = """say says said saying tell tells told telling warn warns warned warning insist
insists insisted claims claimed stated add adds added noted argue
argues argued announce announces announced confirm confirms confirmed deny denies denied dismiss
dismisses dismissed describe describes described urge urges urged assert asserts asserted
explain explains explained reiterate reiterates reiterated emphasise emphasises emphasised
emphasize emphasizes emphasized stress stresses stressed suggest suggests suggested acknowledge
acknowledges acknowledged admit admits admitted reports reported write writes wrote
accuse accuses accused allege alleges alleged declare declares declared vow vows vowed promise
promised threaten threatens threatened predict predicts predicted assess assesses
assessed estimated believe believes believed think thinks thought hoped expect expects expected
hope hopes want wants wanted fear fears feared called reject rejects rejected mention mentions mentioned commented replied
respond responds responded indicate indicates indicated signalled signaled cited quoted
outlined caution cautions cautioned""".split()
# In a passage, more verbs show who holds a position (a generous reading names more speakers,
# so fewer right claims are dropped).
_PASSAGE_VERBS = _CLAIM_VERBS + """agree agrees agreed propose proposes proposed offer offers
offered refuse refuses refused demand demands demanded accept accepts accepted recall recalls
recalled spoke""".split()
_INVERTING = {"said", "says", "added", "adds", "noted", "wrote", "writes", "explained", "asked",
              "insisted", "warned", "continued"}
# "X's comments echoed ..." attributes the words to X too.
_STATEMENT_NOUNS = """comments comment remarks remark statement statements words position view
views assessment claim claims message warning warnings demands proposal proposals account
estimate estimates figures accusation accusations denial response testimony""".split()
# Lower-case words that can be part of a speaker's noun phrase ("senior Kremlin aide").
_ROLE_WORDS = set("""aide aides adviser advisers advisor advisors spokesman spokeswoman
spokesperson spokespeople minister ministers president commander chief head official officials
envoy envoys negotiator negotiators diplomat diplomats ambassador secretary leader leaders senior
top deputy foreign defence defense military army general state news agency ministry government
administration prime national security council office press service media television tv
channel analyst analysts expert experts intelligence delegation delegate spokesmen staff
authorities authority governor mayor lawmaker lawmakers senator officer officers source
correspondent reporter newspaper broadcaster think tank institute forces command former acting
chairman chairwoman director representative representatives counterpart counterparts his her
their its white house department ukrainian russian american european british outlet outlets
media newspapers channels""".split())
# Words naming an organisation: a claim may name the organisation a passage's speaker belongs to.
_ORG_WORDS = set(terms("""kremlin ministry government administration office department agency
council army military forces command staff parliament embassy service committee commission
police court party bureau institute union house nato""")) | {"un", "eu"}
_TITLES = set(terms("mr mrs ms dr sir president prime minister general gen col lt sen rep"))
_HONORIFICS = set(terms("mr mrs ms dr sir"))
_CONNECTORS = {"of", "to", "for", "from", "at", "in", "with"}
_ARTICLES = {"the", "a", "an"}
_LEAD_FILLERS = {"has", "have", "had", "also", "repeatedly", "previously", "later", "then",
                 "reportedly", "publicly", "again", "earlier", "further", "once", "who", "which",
                 "is", "was", "were", "are", "would", "will", "did", "does", "do",
                 "already", "recently", "separately", "herself", "himself", "itself", "not",
                 "never", "first", "openly", "firmly", "strongly", "explicitly", "clearly",
                 "flatly", "quickly", "immediately", "and", "but", "yet", "that"}
_PRONOUNS = {"he", "she", "they", "we", "i", "it", "you", "one", "this", "these", "those", "his",
             "her", "their", "its", "our", "my", "your", "who", "which"}
# Sentence openers that are capitalised but name no one ("However, Putin said").
_OPENERS = {"however", "meanwhile", "but", "and", "also", "earlier", "later", "separately",
            "still", "yet", "instead", "in", "on", "at", "after", "before", "when", "while", "as",
            "then", "now", "today", "yesterday", "moreover", "additionally", "furthermore", "so",
            "thus", "first", "second", "finally", "overall", "both", "again", "notably",
            "similarly", "likewise", "specifically", "ultimately", "indeed", "here", "there"}
# Role words that do not identify anyone: "senior US officials" is "US officials".
_GENERIC = set(terms("senior top former acting current new his her their its"))
# Words that name the material, not a speaker: "the passage says", "according to the article".
_SOURCE_WORDS = {"passage", "passages", "article", "articles", "source", "sources", "report",
                 "reports", "text", "outlet", "outlets", "story", "document", "quote"}
_DAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
         "yesterday", "today", "tonight", "on", "last", "week", "earlier", "this", "morning",
         "evening", "night", "afternoon"}
_TOKEN = re.compile(r"[A-Za-z][\w’'.-]*|[,:;“”\"()\[\]]")
_BOUNDARY = set(';:“”"()[]')
_POSSESSIVE = re.compile(r"^(.*?)(?:'s|’s|'|’)$")


@lru_cache(maxsize=1)
def _verb_re(which: str) -> re.Pattern[str]:
    words = _CLAIM_VERBS if which == "claim" else _PASSAGE_VERBS
    return re.compile(r"\b(" + "|".join(sorted(set(words), key=len, reverse=True)) + r")\b")


@dataclass(frozen=True)
class Speaker:
    """A named speaker: the words of the name, its role words, and words that only modify it.

    "A senior aide to Vladimir Putin": name=(), roles={senior, aide}, modifiers={vladimir, putin}.
    "Kremlin aide Yuri Ushakov": name=(yuri, ushakov), roles={kremlin, aide}.
    """

    phrase: str
    name: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()
    modifiers: frozenset[str] = frozenset()
    role_head: bool = False  # the phrase ends with a role ("the Kremlin aide")

    @property
    def named(self) -> bool:
        return bool(self.name or self.roles)

    def words(self) -> set[str]:
        return set(self.name) | set(self.roles)


@dataclass
class Attribution:
    """A passage sentence's speakers (own, or inherited from an earlier sentence)."""

    speakers: list[Speaker] = field(default_factory=list)
    inherited: bool = False

    def label(self) -> str:
        return "; ".join(s.phrase for s in self.speakers) or "(no speaker)"


def _stem(word: str) -> str:
    t = terms(word)
    return t[0] if t else ""


def _is_cap(tok: str) -> bool:
    return tok[:1].isupper()


def _strip_possessive(tok: str) -> tuple[str, bool]:
    m = _POSSESSIVE.match(tok)
    if m and m.group(1) and (tok.endswith("s") and tok[-2] in "'’" or tok[-1] in "'’"):
        return m.group(1), True
    return tok, False


def _phrase(tokens: list[str]) -> Speaker | None:
    """A speaker from the tokens of a noun phrase, left to right."""
    tokens = [t for t in tokens if t not in {",", "“", "”", '"'}]
    while tokens and (tokens[0].lower() in _CONNECTORS | _ARTICLES | _OPENERS):
        tokens = tokens[1:]
    if not tokens:
        return None
    lowered = [t.lower().rstrip(".") for t in tokens]
    named = [t for t in lowered if t not in _ARTICLES | _CONNECTORS | _PRONOUNS]
    if not named or all(t in _SOURCE_WORDS for t in named):
        return None  # "he said", "the passage says", "the outlets report"
    # Words after a connector, and possessors, modify the head: "aide to Putin", "Putin's aide".
    parts: list[tuple[str, bool]] = []  # (token, is_modifier)
    in_modifier = False
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in _CONNECTORS:
            in_modifier = True
            continue
        if low in _ARTICLES or low in _PRONOUNS:
            continue
        base, poss = _strip_possessive(tok)
        parts.append((base, in_modifier or (poss and i < len(tokens) - 1)))
    name: list[str] = []  # the last run of capitalised words that are not roles
    roles: set[str] = set()
    mods: set[str] = set()
    run: list[str] = []
    ends_with_role = False
    for base, is_mod in parts:
        st = _stem(base)
        if not st:
            continue
        if is_mod:
            mods.add(st)
            run = []
            continue
        if _is_cap(base) and base.lower().rstrip(".") not in _ROLE_WORDS and st not in _TITLES:
            if not run:
                if name:
                    roles.update(name)  # "Kremlin aide Yuri Ushakov": Kremlin is a role
                name = []
            run.append(st)
            name = list(run)
            ends_with_role = False
        elif st not in _HONORIFICS:
            run = []
            roles.add(st)
            ends_with_role = True
    if not name and not roles:
        return None
    return Speaker(" ".join(tokens), tuple(name), frozenset(roles - set(name)), frozenset(mods),
                   ends_with_role)


def _np_left(tokens: list[str]) -> list[str]:
    """The noun phrase that ends just before a verb (tokens of the text before it)."""
    toks = list(tokens)
    while toks and (toks[-1].lower() in _LEAD_FILLERS | _DAYS | _CONNECTORS or toks[-1] == ","):
        toks.pop()
    out: list[str] = []
    commas = 0
    while toks:
        tok = toks[-1]
        low = tok.lower().rstrip(".")
        if tok in _BOUNDARY:
            break
        if tok == ",":
            commas += 1
            if commas > 2:
                break
            out.insert(0, toks.pop())
            continue
        _, poss = _strip_possessive(tok)
        if (_is_cap(tok) or low in _ROLE_WORDS or low in _CONNECTORS or low in _ARTICLES
                or low in _PRONOUNS or poss):
            out.insert(0, toks.pop())
            if low in _PRONOUNS and len(out) == 1:
                break  # "he said": a pronoun is a whole noun phrase
            continue
        break
    while out and (out[0] in {",", "and"} or out[0].lower() in _CONNECTORS | _ARTICLES):
        out.pop(0)
    # "In response, Russia" / "However, Putin": an opening phrase before a comma is not part of
    # the speaker; "Ukraine's top commander, Oleksandr Syrsky," is (an appositive).
    if "," in out:
        first = out.index(",")
        before = out[:first]
        if all(t.lower() in _OPENERS | _ARTICLES | _CONNECTORS or not _is_cap(t) and
               t.lower() not in _ROLE_WORDS for t in before) or before[0].lower() in _OPENERS:
            out = out[first + 1 :]
    return out


def _np_right(tokens: list[str]) -> list[str]:
    """The noun phrase that starts just after a word ("according to X", "said X")."""
    out: list[str] = []
    for tok in tokens:
        low = tok.lower().rstrip(".")
        if tok in _BOUNDARY or tok == ",":
            break
        _, poss = _strip_possessive(tok)
        if _is_cap(tok) or low in _ROLE_WORDS or low in _CONNECTORS or low in _ARTICLES or poss:
            out.append(tok)
            continue
        break
    while out and out[-1].lower() in _CONNECTORS | _ARTICLES:
        out.pop()
    return out


def _tokens(text: str) -> list[tuple[str, int]]:
    return [(m.group(0), m.start()) for m in _TOKEN.finditer(text)]


def attributions(text: str, which: str = "passage") -> list[Speaker | None]:
    """Speakers in a sentence, in order; None for an attribution to a pronoun or to no one."""
    toks = _tokens(text)
    words = [t for t, _ in toks]
    found: list[tuple[int, Speaker | None]] = []
    verb = _verb_re(which)
    for i, (tok, pos) in enumerate(toks):
        low = tok.lower()
        # "according to X"
        if low == "according" and i + 1 < len(words) and words[i + 1].lower() == "to":
            found.append((pos, _phrase(_np_right(words[i + 2 :]))))
            continue
        # "X's comments ..."
        _, poss = _strip_possessive(tok)
        if poss and i + 1 < len(words) and words[i + 1].lower() in _STATEMENT_NOUNS:
            np = _np_left(words[:i]) + [tok]
            lead = words[: i + 1 - len(np)]
            # In a claim only the subject counts: "Ushakov's comments echoed ...", not
            # "... communicated Russia's position to Waltz".
            if which == "passage" or all(t.lower() in _OPENERS or t == "," for t in lead):
                found.append((pos, _phrase(np)))
            continue
        if not verb.fullmatch(low):
            continue
        # "cited / quoted X as saying": X speaks (and the outlet that cites them too).
        if low in {"cited", "cites", "quoted", "quotes", "quoting", "citing"}:
            rest = words[i + 1 :]
            obj = _np_right(rest)
            if obj and len(rest) > len(obj) + 1 and rest[len(obj)].lower() == "as":
                found.append((pos, _phrase(obj)))
        left = words[:i]
        np = _np_left(left)
        sp = _phrase(np) if np else None
        if sp is None and left and left[-1] == ",":
            # "Putin, wearing fatigues, told ...": skip one parenthetical clause
            j = len(left) - 2
            while j >= 0 and left[j] != "," and left[j] not in _BOUNDARY:
                j -= 1
            if j > 0 and left[j] == ",":
                np = _np_left(left[:j])
                sp = _phrase(np) if np else None
        # '"...", said Mr Ushakov.'
        if (sp is None and low in _INVERTING and i > 0 and words[i - 1] in {",", "”", '"'}):
            obj = _np_right(words[i + 1 :])
            sp = _phrase(obj) if obj else None
        if sp is not None or any(t.lower() in _PRONOUNS for t in np):
            found.append((pos, sp))  # None: words attributed to a pronoun
    found.sort(key=lambda x: x[0])
    return [s for _, s in found]


def claimed_speaker(text: str) -> Speaker | None:
    """The first named speaker a model's sentence attributes words to, if any."""
    for sp in attributions(text, "claim"):
        return sp  # the main clause's speaker; None when it is a pronoun
    return None


def sentence_speakers(sentences: list[str], i: int, lookback: int = 3) -> Attribution:
    """Speakers of sentence i: its own named ones, or the nearest earlier sentence's."""
    own = [s for s in attributions(sentences[i]) if s is not None]
    if own:
        return Attribution(own)
    for j in range(i - 1, max(-1, i - 1 - lookback), -1):
        earlier = [s for s in attributions(sentences[j]) if s is not None]
        if earlier:
            return Attribution(earlier, inherited=True)
    return Attribution()


def _same(a: str, b: str) -> bool:
    """'russia' ~ 'russian', 'ukrain' ~ 'ukrainian': one a prefix of the other, 5+ letters."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return len(short) >= 5 and long_.startswith(short)


def _in(word: str, pool: set[str]) -> bool:
    return any(_same(word, w) for w in pool)


def claim_words(claimed: Speaker) -> list[str]:
    """What must match: a person's surname, or every word of a role or organisation."""
    if claimed.name and not claimed.role_head:
        return [claimed.name[-1]]
    return sorted((set(claimed.name) | claimed.roles) - _HONORIFICS - _GENERIC)


def matches(claimed: Speaker, speaker: Speaker) -> bool:
    """Does a passage speaker carry the claimed speaker's name, role or organisation?"""
    pool = speaker.words()
    need = claim_words(claimed)
    if not need:
        return False
    for w in need:
        if _in(w, pool):
            continue
        if w in _ORG_WORDS and _in(w, set(speaker.modifiers)):
            continue  # "the ministry" for "a spokesperson from the foreign ministry"
        return False
    return True


def matches_meta(claimed: Speaker, meta_words: set[str]) -> bool:
    """'Reuters reported ...': the outlet or author of the passage is its speaker."""
    need = claim_words(claimed)
    return bool(need) and all(_in(w, meta_words) for w in need)


def speaker_terms(claimed: Speaker) -> set[str]:
    return set(claimed.name) | set(claimed.roles) | set(claimed.modifiers)
