"""The LLM answer writer: grounded prompts out, checked and re-cited sentences back.

The model only *proposes* sentences with [n] markers. Every sentence that survives the checker
is re-cited here with verbatim sentences of the passage it names (numbered by CitationBook, so
`quote == text[start:end]` holds by construction); whatever cannot be tied to a retrieved
passage is dropped, and an answer that loses too much falls back to the extractive one.

The check is lexical: a kept sentence shares most of its content words with the quoted
sentence(s) of a passage the model was given, and every figure in it occurs in that passage.
It cannot tell "accepted" from "rejected"; the verbatim quotes are what let a reader check.

llama-index (and openai) are imported lazily, inside the functions that talk to the model:
importing llama_index.core costs ~2 s and the extractive path must not pay it.
"""

from __future__ import annotations

import logging
import re
import string
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.chunking import sentence_spans
from index.lexical import overlap, shingles, terms
from index.types import Passage

from bot.answer import Citation
from bot.errors import PromptError
from bot.answering import LLMFailure
from bot.evidence import Evidence
from bot.extractive import CitationBook
from bot.memory import Conversation

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

FALLBACK = "showing quotes from the articles instead"
# A [n] marker is kept when the passage's best sentences hold this share of the claim's
# content words; the whole sentence must then be covered by its kept quotes at
# MIN_SENTENCE_SUPPORT. Words count equally: in a small corpus idf ranks paraphrase verbs
# ("insisted", "relayed") far above the names a claim is about.
MIN_MARKER_SUPPORT = 0.5
MIN_SENTENCE_SUPPORT = 0.6
# An unmarked sentence is attached to a passage only on a clear lexical best match.
REPAIR_SUPPORT = 0.7
REPAIR_MARGIN = 0.15
# A sentence needs this many distinct content words to be checkable ("HACKED." is not).
MIN_CLAIM_TERMS = 2
# A quote is the passage's best sentence, plus one more if it adds this share of the claim.
MAX_QUOTE_SENTENCES = 2
MIN_EXTRA_GAIN = 0.2
# A duplicate outlet is cited when one of its sentences repeats the quote's words.
DUPLICATE_OVERLAP = 0.5
# At least this share of the answer's substantive sentences must survive.
MIN_SURVIVING = 0.5
CONDENSE_MAX_TOKENS = 120
MAX_STANDALONE_CHARS = 500
HISTORY_ANSWER_CHARS = 400
RETRY_PAUSE_S = 0.5
# Pronouns, connectives, reporting verbs and words about the sources: how a model phrases a
# claim, not what it claims.
_PHRASING = """he she him her his them it we our you your me my another meanwhile however
additionally further furthermore moreover while whereas added noted insisted mentioned
explained described reported according article articles passage passages outlet outlets"""
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# --- prompts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateSpec:
    file: str
    allowed: frozenset[str]
    required: frozenset[str]


TEMPLATES: dict[str, TemplateSpec] = {
    "system": TemplateSpec("system.txt", frozenset({"today"}), frozenset()),
    "answer": TemplateSpec(
        "answer.txt", frozenset({"question", "passages", "today", "count"}),
        frozenset({"question", "passages"}),
    ),
    "condense": TemplateSpec(
        "condense.txt", frozenset({"question", "history", "today"}),
        frozenset({"question", "history"}),
    ),
}


def _names(allowed: Iterable[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(allowed))


def template_fields(text: str, path: Path) -> set[str]:
    """The {placeholders} of a template; anything but a plain {name} is an error."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptError(f"{path}: {exc} (write a literal brace as {{{{ or }}}})") from None
    found: set[str] = set()
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise PromptError(f"{path}: unsupported placeholder {shown}; use a plain {{name}}")
        found.add(name)
    return found


def load_template(folder: Path, spec: TemplateSpec) -> str:
    """Read and validate one template, so a typo fails at start-up, not at the first question."""
    path = folder / spec.file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"{path}: cannot read prompt template ({exc.strerror or exc})") from None
    if not text.strip():
        raise PromptError(f"{path}: prompt template is empty")
    found = template_fields(text, path)
    unknown = found - spec.allowed
    if unknown:
        raise PromptError(
            f"{path}: unknown variable {_names(unknown)}; allowed: {_names(spec.allowed)}"
        )
    missing = spec.required - found
    if missing:
        raise PromptError(f"{path}: missing required variable {_names(missing)}")
    return text


@dataclass(frozen=True)
class Prompts:
    """The three operator-editable templates, validated."""

    system: str
    answer: str
    condense: str

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        return cls(**{key: load_template(folder, spec) for key, spec in TEMPLATES.items()})

    def render(self, key: str, **values: object) -> str:
        return str(getattr(self, key)).format(**values)


# --- passages as the model sees them ---------------------------------------------------------

_ANGLE = str.maketrans({"<": "‹", ">": "›"})
_BRACKET_NUMBER = re.compile(r"\[(\s*\d+(?:\s*[,;–-]\s*\d+)*\s*)\]")


def neutralise(text: str) -> str:
    """Article text can neither close a <passage> element nor forge a [n] marker."""
    return _BRACKET_NUMBER.sub(r"(\1)", text.translate(_ANGLE))


def _attr(value: object) -> str:
    return " ".join(neutralise(str(value)).replace('"', "'").split())


def _who(p: Passage) -> str:
    return p.outlet or p.title or p.source


def format_passage(n: int, p: Passage) -> str:
    attrs = {"id": n, "source": p.source, "outlet": p.outlet or "unknown"}
    if p.title:
        attrs["title"] = p.title
    attrs["date"] = p.published or "unknown"
    if p.also:
        attrs["also_reported_by"] = "; ".join(
            f"{_who(a)} ({a.source}, {a.published or 'date unknown'})" for a in p.also
        )
    head = " ".join(f'{k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<passage {head}>\n{neutralise(p.text.strip())}\n</passage>"


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(format_passage(i, p) for i, p in enumerate(passages, 1))


# --- the checker ------------------------------------------------------------------------------

_MARKER = re.compile(
    r"\[\s*(?:(?:passages?|source|p)\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:(?:passages?|p)\s*)?\d+)*)\s*\]",
    re.I,
)
_ONLY_MARKERS = re.compile(rf"^(?:\s*{_MARKER.pattern})+\s*[.,;]?\s*", re.I)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)  # reasoning models' scratchpad
_SOURCES_HEADING = re.compile(r"^\W*(sources|references|citations)\b\W*(?::.*)?$", re.I)
_DECLINE = re.compile(
    r"\b(do(es)?\s*n[o']t|cannot|can't|no)\b.{0,60}\b(answer|mention|say|contain|information|specify)",
    re.I,
)
_TRAILING_PUNCT = re.compile(r"([.!?…]+[\"”’)]*)$")


def marker_numbers(group: str) -> list[int]:
    """'1, 3' -> [1, 3]; '2-4' -> [2, 3, 4] (short ranges only)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|\band\b)\s*", group):
        nums = [int(x) for x in re.findall(r"\d+", part)]
        if len(nums) == 2 and re.search(r"[-–]", part) and 0 <= nums[1] - nums[0] <= 10:
            out.extend(range(nums[0], nums[1] + 1))
        else:
            out.extend(nums)
    return out


@dataclass
class Proposed:
    """One sentence of the model's output, on the line it was written."""

    line: int
    text: str


def split_sentences(raw: str) -> list[Proposed]:
    """Sentences per line; markers the model put after a full stop go with the sentence before."""
    body = _THINK.sub("", raw)
    out: list[Proposed] = []
    for i, line in enumerate(body.splitlines()):
        if _SOURCES_HEADING.match(line.strip()) and out:
            break  # a references list at the end is not part of the answer
        for s, e in sentence_spans(line):
            piece = line[s:e]
            lead = _ONLY_MARKERS.match(piece)
            if lead and out and out[-1].line == i and not _MARKER.search(out[-1].text):
                out[-1].text += " " + lead.group(0).strip()
                piece = piece[lead.end() :].strip()
            if piece:
                out.append(Proposed(i, piece))
    return out


@lru_cache(maxsize=1)
def phrasing_terms() -> frozenset[str]:
    return frozenset(terms(_PHRASING))


def claim_terms(text: str) -> set[str]:
    """The words a sentence claims something with (its markers already removed)."""
    return set(terms(text)) - phrasing_terms()


def numbers_in(text: str) -> set[str]:
    """'1,100' and '1100' are the same figure; a number is the claim most worth checking."""
    return {n.replace(",", "").lstrip("0") or "0" for n in _NUMBER.findall(text)}


@dataclass
class Source:
    """One retrieved passage as the checker sees it: its sentences, words and figures."""

    passage: Passage
    text: str
    spans: list[tuple[int, int]]
    sent_terms: list[set[str]]
    meta_terms: set[str]
    numbers: set[str]
    dups: list[Source] = field(default_factory=list)


def passage_spans(evidence: Evidence, p: Passage) -> list[tuple[int, int]]:
    """The passage's sentence offsets, from the index when it has them."""
    snap = evidence.snapshot
    pos = snap.chunk_at(p.source, p.start)
    spans: list[tuple[int, int]] = []
    if pos is not None:
        spans = [(s, e) for s, e in snap.chunks[pos].sentences if p.start <= s and e <= p.end]
    if not spans:
        text = snap.documents[p.source].text or ""
        spans = sentence_spans(text, p.start, p.end)
    return spans


def make_source(evidence: Evidence, p: Passage, with_dups: bool = True) -> Source:
    text = evidence.snapshot.documents[p.source].text or ""
    spans = passage_spans(evidence, p)
    meta = " ".join(x for x in (p.outlet, p.title, p.author) if x)
    figures = numbers_in(text[p.start : p.end]) | numbers_in(meta)
    figures |= numbers_in((p.published or "").replace("-", " "))
    src = Source(p, text, spans, [set(terms(text[s:e])) for s, e in spans], set(terms(meta)),
                 figures)
    if with_dups:
        src.dups = [make_source(evidence, d, with_dups=False) for d in p.also]
    return src


@dataclass
class Quote:
    spans: list[tuple[int, int]]
    support: float
    covered: set[str]


@dataclass
class Report:
    """What the checker did; logged, and the basis of the fall-back decision."""

    substantive: int = 0
    kept: int = 0
    repaired: int = 0
    invalid_markers: int = 0
    unsupported_markers: int = 0


class Checker:
    """Keeps the model's sentences that the retrieved passages support, re-cited verbatim."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.sources = [make_source(evidence, p) for p in evidence.passages]
        self.book = CitationBook(evidence)
        self.report = Report()

    # -- scoring --

    @staticmethod
    def quote(claim: set[str], src: Source) -> Quote:
        """The passage sentence(s) that best support the claim, greedily by words covered."""
        if not claim or not src.spans:
            return Quote([], 0.0, set())
        covered: set[str] = set()
        chosen: list[int] = []
        while len(chosen) < MAX_QUOTE_SENTENCES:
            gain, best = 0, -1
            for i, st in enumerate(src.sent_terms):
                g = len((claim & st) - covered)
                if i not in chosen and g > gain:
                    gain, best = g, i
            if best < 0 or (chosen and gain < MIN_EXTRA_GAIN * len(claim)):
                break
            chosen.append(best)
            covered |= claim & src.sent_terms[best]
        if not chosen:
            return Quote([], 0.0, set())
        covered |= claim & src.meta_terms  # "Reuters reports ..." is backed by the byline
        return Quote(Checker._merge(src, sorted(chosen)), len(covered) / len(claim), covered)

    @staticmethod
    def _merge(src: Source, chosen: list[int]) -> list[tuple[int, int]]:
        """Adjacent sentences on one line become one quote; others stay separate."""
        out: list[list[int]] = []
        prev = -2
        for i in chosen:
            s, e = src.spans[i]
            if out and i == prev + 1 and "\n" not in src.text[out[-1][1] : s]:
                out[-1][1] = e
            else:
                out.append([s, e])
            prev = i
        return [(s, e) for s, e in out]

    def cite(self, src: Source, q: Quote) -> list[int]:
        """Citation numbers for a quote, plus the same words in the duplicate outlets."""
        nums: list[int] = []
        for s, e in q.spans:
            nums.append(self.book.cite(src.passage.source, s, e))
            sh = shingles(src.text[s:e])
            for dup in src.dups:
                best = max(
                    ((overlap(sh, shingles(dup.text[a:b])), (a, b)) for a, b in dup.spans),
                    default=(0.0, (0, 0)),
                )
                if best[0] >= DUPLICATE_OVERLAP:
                    nums.append(self.book.cite(dup.passage.source, *best[1]))
        return list(dict.fromkeys(nums))

    # -- one sentence --

    def repair(self, claim: set[str], figures: set[str]) -> tuple[int, Quote] | None:
        """Attach an unmarked sentence to the passage that clearly supports it best."""
        ranked = sorted(
            ((self.quote(claim, src), k) for k, src in enumerate(self.sources)
             if figures <= _figures(src)),
            key=lambda x: -x[0].support,
        )
        if not ranked or ranked[0][0].support < REPAIR_SUPPORT:
            return None
        if len(ranked) > 1 and ranked[1][0].support > ranked[0][0].support - REPAIR_MARGIN:
            return None
        return ranked[0][1], ranked[0][0]

    def check(self, sentence: Proposed) -> str | None:
        """The sentence with renumbered markers, or None when the passages do not support it."""
        text = sentence.text
        matches = list(_MARKER.finditer(text))
        bare = _tidy(_MARKER.sub(" ", text))
        claim = claim_terms(bare)
        if len(claim) < MIN_CLAIM_TERMS:
            if matches:
                self.report.substantive += 1
            return None
        self.report.substantive += 1
        figures = numbers_in(bare)
        kept: dict[int, list[int]] = {}  # match index -> citation numbers
        covered: set[str] = set()
        backing: set[str] = set()
        sub_claim, prev_end = claim, 0
        for j, m in enumerate(matches):
            part = claim_terms(text[prev_end : m.start()])
            sub_claim = part if len(part) >= MIN_CLAIM_TERMS else sub_claim
            prev_end = m.end()
            for k in marker_numbers(m.group(1)):
                if not 1 <= k <= len(self.sources):
                    self.report.invalid_markers += 1
                    continue
                src = self.sources[k - 1]
                whole = self.quote(claim, src)
                q = max(self.quote(sub_claim, src), whole, key=lambda x: x.support)
                if q.support < MIN_MARKER_SUPPORT:
                    self.report.unsupported_markers += 1
                    continue
                covered |= whole.covered | q.covered
                backing |= _figures(src)
                kept.setdefault(j, []).extend(self.cite(src, q))
        if kept:
            if len(covered) / len(claim) < MIN_SENTENCE_SUPPORT or not figures <= backing:
                return None
            self.report.kept += 1
            return _renumber(text, matches, kept)
        fixed = self.repair(claim, figures)
        if fixed is None:
            return None
        k, q = fixed
        self.report.kept += 1
        self.report.repaired += 1
        return _append_markers(bare, self.cite(self.sources[k], q))

    # -- the whole answer --

    def run(self, raw: str) -> tuple[str, list[Citation]]:
        lines: dict[int, list[str]] = {}
        for sentence in split_sentences(raw):
            out = self.check(sentence)
            if out:
                lines.setdefault(sentence.line, []).append(out)
        r = self.report
        log.info(
            "llm answer checked: %d/%d sentences kept (%d repaired), %d invalid and %d "
            "unsupported markers dropped", r.kept, r.substantive, r.repaired,
            r.invalid_markers, r.unsupported_markers,
        )
        if not r.kept:
            if _DECLINE.search(raw) and not _MARKER.search(raw):
                raise LLMFailure(f"the language model found no answer in the passages; {FALLBACK}")
            raise LLMFailure(f"the language model's answer did not cite the articles; {FALLBACK}")
        if r.kept < MIN_SURVIVING * r.substantive:
            raise LLMFailure(
                f"most of the language model's answer was not supported by the articles; {FALLBACK}"
            )
        text = "\n\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
        return text, self.book.citations


def _figures(src: Source) -> set[str]:
    """Numbers a claim citing this passage may use: its own and its duplicates'."""
    out = set(src.numbers)
    for d in src.dups:
        out |= d.numbers
    return out


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\s+([.,;:!?…])", r"\1", text).strip()


def _renumber(text: str, matches: list[re.Match[str]], kept: dict[int, list[int]]) -> str:
    """Each kept marker becomes its citation numbers; dropped markers vanish."""
    out, pos, used = [], 0, set()
    for j, m in enumerate(matches):
        out.append(text[pos : m.start()])
        nums = [n for n in kept.get(j, []) if n not in used]
        used.update(nums)
        out.append("".join(f"[{n}]" for n in nums))
        pos = m.end()
    out.append(text[pos:])
    return _tidy("".join(out))


def _append_markers(bare: str, nums: list[int]) -> str:
    """'Claim.' -> 'Claim [3].', the style the system prompt asks for."""
    markers = "".join(f"[{n}]" for n in nums)
    m = _TRAILING_PUNCT.search(bare)
    if m:
        return f"{bare[: m.start()].rstrip()} {markers}{m.group(1)}"
    return f"{bare} {markers}"


def check_answer(raw: str, evidence: Evidence) -> tuple[str, list[Citation]]:
    """The model's answer reduced to what the retrieved passages support, re-cited verbatim."""
    return Checker(evidence).run(raw)


# --- talking to the model ---------------------------------------------------------------------


class CallFailed(Exception):
    """A model call failed; the message says how, in words for a person."""

    def __init__(self, how: str, unavailable: bool = False) -> None:
        super().__init__(how)
        self.unavailable = unavailable


def describe_failure(exc: Exception) -> str:
    """A short phrase for any client error: no traceback ever reaches the user."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return "did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return "could not be reached"
    if isinstance(exc, openai.RateLimitError):
        return "is over its rate limit (HTTP 429)"
    if isinstance(exc, openai.APIStatusError):
        return f"returned an error (HTTP {exc.status_code})"
    if isinstance(exc, (ValueError, LookupError, AttributeError, TypeError)):
        return "sent a reply that could not be read"
    return f"failed ({type(exc).__name__})"


def is_unavailable(exc: Exception) -> bool:
    """Timed out or unreachable: a second call in the same answer would wait as long."""
    import openai

    return isinstance(exc, openai.APIConnectionError)  # APITimeoutError is a subclass


def is_transient(exc: Exception) -> bool:
    """Worth another try: timeouts, refused connections, rate limits, 5xx."""
    import openai

    if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def make_client(settings: Settings) -> Any:
    """llama-index's OpenAILike, with its own retries off: LLMWriter retries exactly
    `llm_retries` times (llama-index's wrapper would add 1-20 s random back-off and
    multiply with the openai SDK's retries)."""
    from llama_index.llms.openai_like import OpenAILike

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "unused"
    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=key or "unused",
        is_chat_model=True,
        is_function_calling_model=False,
        max_retries=0,
        timeout=settings.llm_timeout,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )


def history_text(conversation: Conversation) -> str:
    lines = []
    for turn in conversation.turns:
        answer = _tidy(_MARKER.sub(" ", turn.answer))
        if len(answer) > HISTORY_ANSWER_CHARS:
            answer = answer[:HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
        lines.append(f"User: {turn.standalone or turn.question}\nAssistant: {answer}")
    return "\n".join(lines)


def standalone_from(raw: str) -> str:
    """The first real line of the model's rewrite, without labels or quotes."""
    for line in _THINK.sub("", raw).splitlines():
        line = re.sub(r"^\W*(standalone question|question)\s*:\s*", "", line.strip(), flags=re.I)
        line = line.strip().strip("*\"'“”‘’`").strip()
        if line:
            return " ".join(line.split())
    return ""


class LLMWriter:
    """Writes answers with an OpenAI-compatible model; see the module docstring."""

    def __init__(
        self,
        llm: Any,
        prompts: Prompts,
        *,
        retries: int = 0,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.llm = llm  # a llama-index LLM; its own timeout applies to each call
        self.prompts = prompts
        self.retries = retries
        self.today = today

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMWriter:
        """Load and validate the prompts now, so a bad template stops start-up."""
        if not (settings.llm_base_url and settings.llm_model):
            raise ValueError("set both NEWSBOT_LLM_BASE_URL and NEWSBOT_LLM_MODEL to use an LLM")
        prompts = Prompts.load(Path(settings.prompts_dir))
        return cls(make_client(settings), prompts, retries=settings.llm_retries)

    def _chat(self, messages: list[tuple[str, str]], **kwargs: Any) -> str:
        """One answer from the model, retried on transient errors; CallFailed otherwise."""
        from llama_index.core.llms import ChatMessage

        msgs = [ChatMessage(role=role, content=content) for role, content in messages]
        for attempt in range(self.retries + 1):
            t0 = time.perf_counter()
            try:
                content = self.llm.chat(msgs, **kwargs).message.content
            except Exception as exc:  # noqa: BLE001 - every client error becomes one line
                log.warning("LLM call failed after %.1f s: %s: %s", time.perf_counter() - t0,
                            type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
                if attempt < self.retries and is_transient(exc):
                    time.sleep(RETRY_PAUSE_S * (attempt + 1))
                    continue
                raise CallFailed(describe_failure(exc), unavailable=is_unavailable(exc)) from None
            if not (content or "").strip():
                raise CallFailed("returned an empty answer")
            return str(content)
        raise CallFailed("failed")  # pragma: no cover - the loop always returns or raises

    def condense(self, question: str, conversation: Conversation) -> str:
        """The follow-up as a standalone question.

        On failure this raises LLMFailure: the Answerer then retrieves with the heuristic
        `conversation.retrieval_query(question)` and shows the note.
        """
        history = history_text(conversation)
        if not history:
            return question
        prompt = self.prompts.render(
            "condense", question=question, history=history, today=self.today().isoformat()
        )
        try:
            raw = self._chat([("user", prompt)], max_tokens=CONDENSE_MAX_TOKENS)
        except CallFailed as exc:
            raise LLMFailure(
                f"the language model {exc} when rewriting the follow-up; "
                "searched with the conversation's words instead",
                unavailable=exc.unavailable,
            ) from None
        standalone = standalone_from(raw)
        if not standalone or len(standalone) > MAX_STANDALONE_CHARS:
            raise LLMFailure(
                "the language model's rewrite of the follow-up was unusable; "
                "searched with the conversation's words instead"
            )
        return standalone

    def messages(self, question: str, evidence: Evidence) -> list[tuple[str, str]]:
        today = self.today().isoformat()
        user = self.prompts.render(
            "answer", question=question, passages=format_passages(evidence.passages),
            today=today, count=len(evidence.passages),
        )
        return [("system", self.prompts.render("system", today=today)), ("user", user)]

    def write(self, question: str, evidence: Evidence) -> tuple[str, list[Citation]]:
        """An LLM answer, checked sentence by sentence against the passages it was given."""
        if not evidence.passages:
            raise LLMFailure(f"there were no passages for the language model; {FALLBACK}")
        try:
            raw = self._chat(self.messages(question, evidence))
        except CallFailed as exc:
            raise LLMFailure(f"the language model {exc}; {FALLBACK}") from None
        try:
            return check_answer(raw, evidence)
        except LLMFailure:
            raise
        except Exception:  # a checker bug must cost the LLM answer, not the whole answer
            log.exception("checking the LLM answer failed")
            raise LLMFailure(
                f"the language model's answer could not be checked; {FALLBACK}"
            ) from None
