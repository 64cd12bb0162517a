"""The offline MiniLM model: verified file, real vectors, batches padded only to their longest."""

from __future__ import annotations

import numpy as np
import pytest

from index import embedding
from index.embedding import MINILM_DIM, MiniLM, load_wordpiece
from index.errors import StoreError


def test_vectors_are_normalised_and_meaningful() -> None:
    m = MiniLM()
    v = m.embed(["Russia rejected the ceasefire.", "Moscow turned down the truce.", "I like pancakes."])
    assert v.shape == (3, MINILM_DIM)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_batching_does_not_change_a_vector() -> None:
    """Padding to the batch's longest text must not leak into shorter texts' vectors."""
    m = MiniLM(batch_size=8)
    short, long = "Ceasefire talks.", "A much longer sentence about the talks in Jeddah " * 8
    alone = m.embed([short])[0]
    together = m.embed([short, long])[0]
    assert np.allclose(alone, together, atol=1e-4)


def test_tokenizer_limits_are_the_models_not_the_files() -> None:
    tok = load_wordpiece()
    enc = tok.encode_batch(["word " * 600, "short"])
    assert len(enc[0].ids) == 256  # truncated at the model's limit, not the file's 128
    assert len(enc[1].ids) == 256  # padded to the batch's longest, not to a fixed 128
    assert len(tok.encode_batch(["short", "also short"])[0].ids) < 16


def test_a_tampered_model_file_is_refused(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "model.onnx"  # type: ignore[operator]
    fake.write_bytes(b"not the model")
    monkeypatch.setattr(embedding, "_onnx_path", lambda: fake)
    with pytest.raises(StoreError, match="sha256"):
        MiniLM().embed(["x"])


def test_wrapped_as_a_llama_index_embedding() -> None:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from index.llama_embedding import EncoderEmbedding

    m = MiniLM()
    emb = EncoderEmbedding(m, embed_batch_size=2)
    assert isinstance(emb, BaseEmbedding) and emb.model_name == m.model_id
    texts = ["Sudzha was retaken.", "Waltz spoke to Ushakov.", "A third text here."]
    batch = np.array(emb.get_text_embedding_batch(texts))
    assert np.allclose(batch, m.embed(texts), atol=1e-5)
    q = np.array(emb.get_query_embedding("Who spoke to Ushakov?"))
    assert int(np.argmax(batch @ q)) == 1
