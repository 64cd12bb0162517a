"""Tests for the FakeOpenAIServer stand-in, driven by the REAL llama-index clients.

Why: other tests rely on this stand-in to exercise OpenAILike / OpenAILikeEmbedding
over real HTTP, so here we prove the wire shapes it produces are accepted by
the installed ``openai`` v2 client and llama-index wrappers (sync, async,
streaming, errors, timeouts).
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from typing import Any, Dict, Iterator, List

import openai
import pytest
from llama_index.core.llms import ChatMessage
from llama_index.embeddings.openai_like import OpenAILikeEmbedding
from llama_index.llms.openai_like import OpenAILike

try:  # works whether or not tests/ is a package on sys.path
    from tests.standins.openai_api import FakeOpenAIServer
except ImportError:  # pragma: no cover - depends on rootdir/sys.path layout
    from standins.openai_api import FakeOpenAIServer  # type: ignore[no-redef]


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours *_PROXY env vars; make sure loopback traffic bypasses them."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture()
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(model="test-model", embedding_dim=8) as srv:
        yield srv


def make_llm(server: FakeOpenAIServer, timeout: float = 5.0) -> OpenAILike:
    """Real client; max_retries=0 disables both tenacity and openai-SDK retries."""
    return OpenAILike(
        model="test-model",
        api_base=server.base_url,
        api_key="x",
        is_chat_model=True,
        max_retries=0,
        timeout=timeout,
    )


def user(text: str) -> List[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def test_base_url_and_models(server: FakeOpenAIServer) -> None:
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/v1")
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    ids = [m.id for m in client.models.list()]
    assert ids == ["test-model"]
    assert server.requests[-1] == ("/v1/models", None)


def test_chat_returns_scripted_replies_in_order_then_default(
    server: FakeOpenAIServer,
) -> None:
    server.script("first answer", {"content": "second answer"})
    llm = make_llm(server)
    assert llm.chat(user("q1")).message.content == "first answer"
    assert llm.chat(user("q2")).message.content == "second answer"
    assert llm.chat(user("q3")).message.content == "OK"
    assert server.pending_replies == 0


def test_request_bodies_are_recorded(server: FakeOpenAIServer) -> None:
    llm = make_llm(server)
    resp = llm.chat(
        [
            ChatMessage(role="system", content="be brief"),
            ChatMessage(role="user", content="what happened?"),
        ]
    )
    assert resp.message.content == "OK"
    bodies = server.chat_requests()
    assert len(bodies) == 1
    body = bodies[0]
    assert body["model"] == "test-model"
    assert body["stream"] is False
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "what happened?"},
    ]
    assert server.requests[0][0] == "/v1/chat/completions"
    # Response shape carries the usage the client reports back.
    assert resp.raw is not None and resp.raw.model == "test-model"
    assert resp.additional_kwargs["total_tokens"] > 0


def test_complete_uses_chat_endpoint_when_is_chat_model(server: FakeOpenAIServer) -> None:
    server.script("done")
    llm = make_llm(server)
    assert llm.complete("summarise").text == "done"
    assert [p for p, _ in server.requests] == ["/v1/chat/completions"]


def test_responder_builds_dynamic_replies(server: FakeOpenAIServer) -> None:
    def echo(body: Dict[str, Any]) -> str:
        return "echo: " + body["messages"][-1]["content"]

    server.responder = echo
    server.script("scripted wins first")
    llm = make_llm(server)
    assert llm.chat(user("a")).message.content == "scripted wins first"
    assert llm.chat(user("passage 42")).message.content == "echo: passage 42"


def test_scripted_500_raises(server: FakeOpenAIServer) -> None:
    server.script({"status": 500, "message": "boom"})
    llm = make_llm(server)
    with pytest.raises(openai.InternalServerError) as info:
        llm.chat(user("q"))
    assert "boom" in str(info.value)
    assert len(server.chat_requests()) == 1  # max_retries=0 => no retry


def test_delay_triggers_client_timeout(server: FakeOpenAIServer) -> None:
    server.script({"delay": 3, "content": "too late"}, "after timeout")
    llm = make_llm(server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        llm.chat(user("q"))
    assert time.monotonic() - started < 2.5
    # The server keeps working for the next request.
    assert make_llm(server).chat(user("q2")).message.content == "after timeout"


def test_raw_garbage_body_raises(server: FakeOpenAIServer) -> None:
    server.script({"raw": "not json at all"})
    llm = make_llm(server)
    # openai v2 surfaces an unparsable 200 body as a plain JSONDecodeError.
    with pytest.raises(ValueError):
        llm.chat(user("q"))


def test_stream_chat(server: FakeOpenAIServer) -> None:
    server.script("alpha beta gamma")
    llm = make_llm(server)
    chunks = list(llm.stream_chat(user("q")))
    assert len(chunks) > 2
    assert "".join(c.delta or "" for c in chunks) == "alpha beta gamma"
    assert chunks[-1].message.content == "alpha beta gamma"
    assert server.chat_requests()[0]["stream"] is True


@pytest.mark.asyncio
async def test_async_chat_and_stream_do_not_block_loop(server: FakeOpenAIServer) -> None:
    server.script("async one", "async two")
    llm = make_llm(server)
    resp = await llm.achat(user("q"))
    assert resp.message.content == "async one"
    gen = await llm.astream_chat(user("q"))
    text = ""
    async for chunk in gen:
        text += chunk.delta or ""
    assert text == "async two"


def test_embeddings_dimension_and_determinism(server: FakeOpenAIServer) -> None:
    emb = OpenAILikeEmbedding(
        model_name="test-embed",
        api_base=server.base_url,
        api_key="x",
        max_retries=0,
        timeout=5.0,
    )
    texts = ["first doc", "second doc", "first doc"]
    vectors = emb.get_text_embedding_batch(texts)
    assert len(vectors) == 3
    assert all(len(v) == 8 for v in vectors)
    assert all(math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-5) for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert vectors[0] == pytest.approx(server.embed("first doc"))
    query = emb.get_query_embedding("first doc")
    assert query == pytest.approx(vectors[0])
    bodies = server.embedding_requests()
    assert bodies[0]["input"] == texts
    assert bodies[0]["model"] == "test-embed"


def test_embeddings_honour_dimensions_and_float_format(server: FakeOpenAIServer) -> None:
    emb = OpenAILikeEmbedding(
        model_name="test-embed",
        api_base=server.base_url,
        api_key="x",
        dimensions=16,
        max_retries=0,
    )
    assert len(emb.get_text_embedding("hello")) == 16
    assert server.embedding_requests()[-1]["dimensions"] == 16

    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    res = client.embeddings.create(input="hello", model="m", encoding_format="float")
    assert res.data[0].embedding == pytest.approx(server.embed("hello"))
    assert res.object == "list" and res.data[0].index == 0


def test_unknown_path_is_404_and_stop_is_idempotent() -> None:
    srv = FakeOpenAIServer().start()
    try:
        req = urllib.request.Request(srv.base_url + "/nope", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=2)
        assert info.value.code == 404
        assert "error" in json.loads(info.value.read())
    finally:
        srv.stop()
    srv.stop()


def test_stop_wakes_delayed_handler() -> None:
    srv = FakeOpenAIServer().start()
    srv.script({"delay": 30, "content": "never"})
    llm = make_llm(srv, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        llm.chat(user("q"))
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2
