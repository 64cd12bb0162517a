"""A stand-in OpenAI-compatible HTTP server for tests.

Why: the bot talks to its LLM and embedding backends through the real
llama-index OpenAI-like clients (which use the ``openai`` v2 package over
httpx).  Mocking those clients would hide wiring bugs (wrong base URL, wrong
kwargs, timeouts not applied, streaming paths), so tests instead point the
real clients at this tiny server on 127.0.0.1 and script its answers.

It runs ``http.server.ThreadingHTTPServer`` in a background thread, so it
never blocks an asyncio event loop in the test process.

Endpoints (with or without the ``/v1`` prefix):

* ``POST /chat/completions`` - scripted replies, plain or SSE streaming.
* ``POST /completions``      - same script queue, legacy completion shape.
* ``POST /embeddings``       - deterministic hash-based unit vectors.
* ``GET  /models`` and ``GET /models/{id}``.

Chat reply formats accepted by :meth:`FakeOpenAIServer.script` and returned
by a ``responder``:

* ``"text"``                          -> 200, assistant message ``text``.
* ``{"content": "text"}``             -> same as the plain string.
* ``{"status": 500}``                 -> that HTTP status with an OpenAI-style
  error JSON (optional ``"message"``).
* ``{"delay": 3, "content": "x"}``    -> sleep first (to trigger client
  timeouts), then answer; ``delay`` combines with any other key.
* ``{"raw": "not json"}``             -> this exact body, status 200 (or
  ``"status"`` if given).
* optional ``"finish_reason"`` overrides ``"stop"``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Type, Union

Reply = Union[str, Dict[str, Any]]
Responder = Callable[[Dict[str, Any]], Reply]

DEFAULT_REPLY = "OK"


def _approx_tokens(text: str) -> int:
    """Cheap token estimate so ``usage`` looks plausible without tiktoken."""
    return max(1, len(text.split())) if text else 0


def _prompt_text(body: Dict[str, Any]) -> str:
    """Flatten chat messages / completion prompt into one string for usage."""
    parts: List[str] = []
    for msg in body.get("messages") or []:
        content = msg.get("content") if isinstance(msg, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and isinstance(block.get("text"), str):
                    parts.append(block["text"])
    prompt = body.get("prompt")
    if isinstance(prompt, str):
        parts.append(prompt)
    elif isinstance(prompt, list):
        parts.extend(p for p in prompt if isinstance(p, str))
    return "\n".join(parts)


def _split_for_stream(text: str) -> List[str]:
    """Split into word-ish pieces that concatenate back to ``text`` exactly."""
    if not text:
        return [""]
    pieces: List[str] = []
    current = ""
    for ch in text:
        current += ch
        if ch == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its owner and stays quiet on errors."""

    daemon_threads = True
    allow_reuse_address = True
    owner: "FakeOpenAIServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow handler errors (e.g. client hung up after a timeout)."""
        return None


class _Handler(BaseHTTPRequestHandler):
    """Routes requests to the owning FakeOpenAIServer."""

    protocol_version = "HTTP/1.1"
    server: _Server

    # -- plumbing -----------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output clean: no per-request logging to stderr."""
        return None

    def _route(self) -> str:
        """Path without query string and without a leading ``/v1``."""
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/v1/") or path == "/v1":
            path = path[3:]
        return path or "/"

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_error_json(
        self, status: int, message: str, err_type: str = "server_error"
    ) -> None:
        self._send_json(
            status,
            {
                "error": {
                    "message": message,
                    "type": err_type,
                    "param": None,
                    "code": None,
                }
            },
        )

    def _send_sse(self, events: List[Any]) -> None:
        """Send ``data: ...`` events using chunked encoding, then ``[DONE]``."""
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in events + ["[DONE]"]:
                data = event if isinstance(event, str) else json.dumps(event)
                chunk = f"data: {data}\n\n".encode()
                self.wfile.write(f"{len(chunk):X}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # -- verbs ----------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        owner = self.server.owner
        route = self._route()
        owner._record(self.path.split("?", 1)[0], None)
        if route == "/models":
            self._send_json(
                200, {"object": "list", "data": [owner._model_card(owner.model)]}
            )
        elif route.startswith("/models/"):
            model_id = route[len("/models/") :]
            if model_id == owner.model:
                self._send_json(200, owner._model_card(model_id))
            else:
                self._send_error_json(
                    404, f"The model '{model_id}' does not exist", "invalid_request_error"
                )
        else:
            self._send_error_json(404, f"Unknown path {self.path}", "invalid_request_error")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        owner = self.server.owner
        route = self._route()
        body = self._read_json()
        owner._record(self.path.split("?", 1)[0], body)
        if not isinstance(body, dict):
            self._send_error_json(400, "Request body must be a JSON object", "invalid_request_error")
            return
        if route == "/chat/completions":
            self._completion(body, chat=True)
        elif route == "/completions":
            self._completion(body, chat=False)
        elif route == "/embeddings":
            self._send_json(200, owner._embeddings_payload(body))
        else:
            self._send_error_json(404, f"Unknown path {self.path}", "invalid_request_error")

    # -- completions -----------------------------------------------------------

    def _completion(self, body: Dict[str, Any], chat: bool) -> None:
        owner = self.server.owner
        reply = owner._next_reply(body)
        delay = float(reply.get("delay") or 0)
        if delay > 0 and owner._stopping.wait(delay):
            # Server is shutting down: drop the connection instead of answering.
            self.close_connection = True
            return
        status = int(reply.get("status", 200))
        if "raw" in reply:
            raw = reply["raw"]
            data = raw if isinstance(raw, bytes) else str(raw).encode()
            self._send_bytes(status, data, "application/json")
            return
        if status >= 400:
            message = str(reply.get("message") or f"Scripted error {status}")
            self._send_error_json(status, message)
            return
        content = str(reply.get("content", ""))
        finish = str(reply.get("finish_reason") or "stop")
        model = str(body.get("model") or owner.model)
        prompt_tokens = _approx_tokens(_prompt_text(body))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _approx_tokens(content),
            "total_tokens": prompt_tokens + _approx_tokens(content),
        }
        created = int(time.time())
        if chat:
            cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        else:
            cid = f"cmpl-{uuid.uuid4().hex[:24]}"
        if body.get("stream"):
            self._send_sse(
                self._stream_events(cid, created, model, content, finish, usage, body, chat)
            )
            return
        if chat:
            payload: Dict[str, Any] = {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "logprobs": None,
                        "finish_reason": finish,
                    }
                ],
                "usage": usage,
            }
        else:
            payload = {
                "id": cid,
                "object": "text_completion",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "text": content, "logprobs": None, "finish_reason": finish}
                ],
                "usage": usage,
            }
        self._send_json(200, payload)

    @staticmethod
    def _stream_events(
        cid: str,
        created: int,
        model: str,
        content: str,
        finish: str,
        usage: Dict[str, int],
        body: Dict[str, Any],
        chat: bool,
    ) -> List[Any]:
        """Build OpenAI-style stream chunks (role chunk, deltas, finish, usage)."""
        obj = "chat.completion.chunk" if chat else "text_completion"

        def chunk(choice_extra: Dict[str, Any], finish_reason: Optional[str]) -> Dict[str, Any]:
            choice: Dict[str, Any] = {"index": 0, "finish_reason": finish_reason}
            choice.update(choice_extra)
            if chat:
                choice.setdefault("logprobs", None)
            return {
                "id": cid,
                "object": obj,
                "created": created,
                "model": model,
                "choices": [choice],
            }

        events: List[Any] = []
        if chat:
            events.append(chunk({"delta": {"role": "assistant", "content": ""}}, None))
            for piece in _split_for_stream(content):
                events.append(chunk({"delta": {"content": piece}}, None))
            events.append(chunk({"delta": {}}, finish))
        else:
            for piece in _split_for_stream(content):
                events.append(chunk({"text": piece, "logprobs": None}, None))
            events.append(chunk({"text": "", "logprobs": None}, finish))
        stream_options = body.get("stream_options") or {}
        if isinstance(stream_options, dict) and stream_options.get("include_usage"):
            events.append(
                {
                    "id": cid,
                    "object": obj,
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        return events


class FakeOpenAIServer:
    """Scriptable OpenAI-compatible server on 127.0.0.1 for real-client tests.

    Usage::

        with FakeOpenAIServer() as server:
            server.script("first answer", {"status": 500}, {"delay": 3})
            llm = OpenAILike(api_base=server.base_url, ...)
    """

    def __init__(
        self,
        model: str = "test-model",
        embedding_dim: int = 8,
        default_reply: str = DEFAULT_REPLY,
        responder: Optional[Responder] = None,
    ) -> None:
        self.model = model
        self.embedding_dim = embedding_dim
        self.default_reply = default_reply
        #: Called with the JSON body when the script queue is empty.
        self.responder: Optional[Responder] = responder
        #: Every request received, as ``(path, json_body)``; body is None for
        #: GET, or the raw text if it was not valid JSON.
        self.requests: List[Tuple[str, Any]] = []
        self._queue: Deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> "FakeOpenAIServer":
        """Bind an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeOpenAIServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes any handler sleeping on a scripted delay."""
        self._stopping.set()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port (server must be started)."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL, e.g. ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Queue chat/completion replies, consumed one per request, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending_replies(self) -> int:
        """How many scripted replies have not been consumed yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget scripted replies, the responder and recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
        self.responder = None

    # -- inspection -------------------------------------------------------------

    def requests_to(self, endpoint: str) -> List[Any]:
        """JSON bodies of requests whose path ends with ``endpoint``."""
        suffix = "/" + endpoint.strip("/")
        with self._lock:
            return [body for path, body in self.requests if path.rstrip("/").endswith(suffix)]

    def chat_requests(self) -> List[Dict[str, Any]]:
        """JSON bodies sent to ``/chat/completions``, oldest first."""
        return self.requests_to("/chat/completions")

    def embedding_requests(self) -> List[Dict[str, Any]]:
        """JSON bodies sent to ``/embeddings``, oldest first."""
        return self.requests_to("/embeddings")

    def embed(self, text: str, dim: Optional[int] = None) -> List[float]:
        """The deterministic unit vector this server returns for ``text``."""
        n = dim or self.embedding_dim
        digest = hashlib.shake_256(text.encode("utf-8")).digest(4 * n)
        raw = [
            int.from_bytes(digest[4 * i : 4 * i + 4], "little") / 0xFFFFFFFF * 2.0 - 1.0
            for i in range(n)
        ]
        norm = math.sqrt(sum(x * x for x in raw)) or 1.0
        # Round-trip through float32 so float and base64 encodings agree.
        return list(struct.unpack(f"<{n}f", struct.pack(f"<{n}f", *(x / norm for x in raw))))

    # -- internals used by the handler ----------------------------------------

    def _record(self, path: str, body: Any) -> None:
        with self._lock:
            self.requests.append((path, body))

    def _next_reply(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """Pop the next scripted reply, else ask the responder, else default."""
        with self._lock:
            reply: Optional[Reply] = self._queue.popleft() if self._queue else None
        if reply is None:
            reply = self.responder(body) if self.responder is not None else self.default_reply
        if isinstance(reply, str):
            return {"content": reply}
        if isinstance(reply, dict):
            return reply
        raise TypeError(f"Unsupported scripted reply: {reply!r}")

    def _model_card(self, model_id: str) -> Dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 0, "owned_by": "newsbot-tests"}

    def _embeddings_payload(self, body: Dict[str, Any]) -> Dict[str, Any]:
        raw_input = body.get("input")
        texts: List[str]
        if isinstance(raw_input, list):
            texts = [t if isinstance(t, str) else json.dumps(t) for t in raw_input]
        else:
            texts = [raw_input if isinstance(raw_input, str) else json.dumps(raw_input)]
        requested = body.get("dimensions")
        dim = requested if isinstance(requested, int) and requested > 0 else self.embedding_dim
        as_base64 = body.get("encoding_format") == "base64"
        data: List[Dict[str, Any]] = []
        for i, text in enumerate(texts):
            vec = self.embed(text, dim)
            embedding: Union[str, List[float]] = (
                base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode()
                if as_base64
                else vec
            )
            data.append({"object": "embedding", "index": i, "embedding": embedding})
        tokens = sum(_approx_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": str(body.get("model") or self.model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
