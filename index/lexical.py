"""Word-level tools shared by BM25, duplicate detection and sentence scoring.

BM25 is bm25s (the engine llama-index's BM25Retriever wraps), called directly: the query path
must not pay llama-index's two-second import on every cold `newsbot ask`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_WORD = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


# Question and reporting words carry no topic: "What did X say" is about X.
_QUESTION_WORDS = """what whats which who whom whose when where why how did does do done doing
would could should can may might must will shall say says said saying tell tells told according
about also any many much more most some there here been being has have had get got make made
""".split()


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN) | frozenset(_QUESTION_WORDS)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms: the vocabulary of BM25 and of scoring."""
    sw = stopwords()
    words = [w for w in _WORD.findall(text.lower()) if w not in sw]
    return _stemmer().stemWords(words) if words else []


def shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < n:
        return {tuple(words)} if words else set()
    return set(zip(*(words[i:] for i in range(n))))  # 1.5x the speed of slicing each shingle


def overlap(a: set[tuple[str, ...]], b: set[tuple[str, ...]]) -> float:
    """Containment of the smaller shingle set in the larger: a quote inside a longer passage
    counts as a duplicate of it."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


class BM25:
    """A bm25s index over texts, plus the document frequencies used to judge relevance."""

    def __init__(
        self,
        texts: Sequence[str] = (),
        k1: float = 1.2,
        b: float = 0.75,
        tokenized: Sequence[list[str]] | None = None,
    ) -> None:
        import bm25s

        if tokenized is None:
            tokenized = [terms(t) for t in texts]
        self.n = len(tokenized)
        self.df: Counter[str] = Counter()
        for toks in tokenized:
            self.df.update(set(toks))
        self._engine = bm25s.BM25(k1=k1, b=b)
        self._vocab: dict[str, int] = {}
        if self.n:
            vocab = {t: i for i, t in enumerate(sorted(self.df))}
            ids = [[vocab[t] for t in toks] for toks in tokenized]
            self._engine.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab),
                               show_progress=False)
            self._vocab = vocab

    def idf(self, term: str) -> float:
        """BM25's idf; an unseen term gets the highest value (it is the most telling miss)."""
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        q = [t for t in terms(query) if t in self._vocab]
        if not q or not self.n:
            return []
        k = min(k, self.n)
        docs, scores = self._engine.retrieve(
            [q], k=k, show_progress=False, weight_mask=mask, n_threads=0
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
