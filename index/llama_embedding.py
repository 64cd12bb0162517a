"""The offline encoder as a llama-index `BaseEmbedding`, for llama-index pipelines.

Kept out of `index/embedding.py` so that the query path never imports llama-index (two
seconds of a cold `newsbot ask`); import this module only where llama-index is wanted.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from index.embedding import Encoder, MiniLM


class EncoderEmbedding(BaseEmbedding):
    """Any `Encoder` (MiniLM by default) behind llama-index's embedding interface."""

    _encoder: Any = PrivateAttr()

    def __init__(self, encoder: Encoder | None = None, **kw: Any) -> None:
        encoder = encoder or MiniLM()
        super().__init__(model_name=encoder.model_id, **kw)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "EncoderEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._encoder.embed([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.embed(texts).tolist()
