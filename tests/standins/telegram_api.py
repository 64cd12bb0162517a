"""In-process stand-in for the Telegram Bot API, served over real HTTP on 127.0.0.1.

Why: the bot is built on python-telegram-bot (PTB). Mocking PTB objects would hide
wire-level bugs (parameter encoding, error mapping, polling/offset handling), so tests
point a real ``telegram.Bot`` / ``Application`` at this server instead::

    with FakeTelegramServer() as tg:
        app = (ApplicationBuilder().token(TEST_TOKEN)
               .base_url(tg.base_url).base_file_url(tg.base_file_url).build())

The server runs ``http.server.ThreadingHTTPServer`` in a daemon thread, so it never
blocks the test's event loop; long polls are capped (``max_poll_wait``) so shutdown
is fast. All shared state is guarded by one lock/condition.

Wire format (checked against PTB 22.8): URLs are ``base_url + token + "/" + method``,
parameters arrive as ``application/x-www-form-urlencoded`` (strings verbatim, every
other value JSON-encoded) or ``multipart/form-data`` when files are uploaded. Replies are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...,
"parameters": {...}}`` with a matching HTTP status (PTB maps the status to exceptions).
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import html
import itertools
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "TEST_TOKEN",
    "Call",
    "FakeTelegramServer",
    "IMPLEMENTED_METHODS",
    "Params",
    "UploadedFile",
]

#: A syntactically valid token; any token is accepted unless the server is given one.
TEST_TOKEN = "123456:TEST-newsbot-token"
BOT_ID = 4242
BOT_USERNAME = "newsbot_test_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "newsbot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

Params = dict[str, Any]
Call = tuple[str, Params]
Predicate = Callable[[Params], bool]

_DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 0",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
}
_MAX_TEXT_LEN = 4096
_MAX_CAPTION_LEN = 1024
# Keys whose form value is a JSON document (PTB json.dumps every non-str value).
_JSON_KEYS = frozenset(
    {
        "reply_parameters",
        "reply_markup",
        "link_preview_options",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "media",
    }
)
_INT_KEYS = frozenset(
    {"chat_id", "message_id", "reply_to_message_id", "message_thread_id", "user_id", "from_chat_id"}
)
_BOOL_KEYS = frozenset(
    {"disable_notification", "protect_content", "disable_web_page_preview", "show_alert"}
)
_MEDIA_KINDS: dict[str, str] = {
    "sendDocument": "document",
    "sendPhoto": "photo",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendVideo": "video",
    "sendAnimation": "animation",
    "sendSticker": "sticker",
}
_ALLOWED_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
        "tg-spoiler", "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?\s*>")
_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?!\w)")


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (kept as bytes so tests can assert on content)."""

    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class _FailRule:
    """One scripted failure; ``remaining`` None means 'until cleared'."""

    method: str
    error_code: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    remaining: int | None
    when: Predicate | None


@dataclass
class _Record:
    """A recorded API call with its outcome (outcome feeds the sent_* helpers)."""

    method: str
    params: Params
    ok: bool = True
    result: Any = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


class _ApiError(Exception):
    """Raised inside method handlers to produce an ``ok: false`` reply."""

    def __init__(self, error_code: int, description: str, parameters: Params | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters


def _utf16_len(text: str) -> int:
    """Telegram entity offsets/lengths are in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _auto_entities(text: str) -> list[dict[str, Any]]:
    """Detect bot_command/mention entities like Telegram does (CommandHandler needs them)."""
    found: list[tuple[int, int, str]] = []
    for m in _COMMAND_RE.finditer(text):
        found.append((m.start(), m.end(), "bot_command"))
    for m in _MENTION_RE.finditer(text):
        found.append((m.start(), m.end(), "mention"))
    found.sort()
    return [
        {"type": kind, "offset": _utf16_len(text[:start]), "length": _utf16_len(text[start:end])}
        for start, end, kind in found
    ]


def _check_html(text: str) -> tuple[str | None, str]:
    """Validate Telegram-flavoured HTML; return (error or None, plain text).

    Why: catching broken markup (``<br>``, unbalanced tags, raw ``<``) in tests is the
    point of the stand-in, and the message mirrors Telegram's so fallback logic that
    looks for "can't parse entities" is exercised.
    """
    prefix = "Bad Request: can't parse entities: "
    stack: list[str] = []
    plain: list[str] = []
    pos = 0
    while True:
        lt = text.find("<", pos)
        if lt < 0:
            plain.append(text[pos:])
            break
        plain.append(text[pos:lt])
        offset = len(text[:lt].encode("utf-8"))
        m = _TAG_RE.match(text, lt)
        if m is None:
            return f'{prefix}Unsupported start tag "" at byte offset {offset}', ""
        closing, name = m.group(1) == "/", m.group(2).lower()
        if not closing:
            if name not in _ALLOWED_HTML_TAGS:
                return f'{prefix}Unsupported start tag "{name}" at byte offset {offset}', ""
            stack.append(name)
        elif not stack:
            return f"{prefix}Unexpected end tag at byte offset {offset}", ""
        elif stack[-1] != name:
            return (
                f'{prefix}Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                f'found "</{name}>"',
                "",
            )
        else:
            stack.pop()
        pos = m.end()
    if stack:
        return f'{prefix}Can\'t find end tag corresponding to start tag "{stack[-1]}"', ""
    return None, html.unescape("".join(plain))


def _maybe_json(value: Any) -> Any:
    """Decode a JSON-encoded form value; leave anything else untouched."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _maybe_int(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def _decode_params(params: Params) -> Params:
    """Turn form-encoded strings back into ints/bools/dicts for ergonomic assertions."""
    out: Params = {}
    for key, value in params.items():
        if key in _JSON_KEYS:
            value = _maybe_json(value)
        elif key in _INT_KEYS:
            value = _maybe_int(value)
        elif key in _BOOL_KEYS and isinstance(value, str):
            value = value == "true"
        out[key] = value
    return out


def _reply_to(decoded: Params) -> int | None:
    rp = decoded.get("reply_parameters")
    if isinstance(rp, dict) and "message_id" in rp:
        return int(rp["message_id"])
    rt = decoded.get("reply_to_message_id")
    return int(rt) if rt is not None else None


def _parse_multipart(content_type: str, body: bytes) -> Params:
    """Parse multipart/form-data with the stdlib email parser (``cgi`` is deprecated)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    out: Params = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            out[name] = UploadedFile(filename, part.get_content_type(), data)
        else:
            out[name] = data.decode("utf-8")
    return out


class _Handler(BaseHTTPRequestHandler):
    """Routes HTTP requests to the owning FakeTelegramServer."""

    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no lingering keep-alive threads

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.fake._handle_http(self)

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.server.fake._handle_http(self)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence per-request log lines on stderr."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], fake: FakeTelegramServer):
        super().__init__(addr, _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects (e.g. cancelled long polls) are normal; stay quiet."""


class FakeTelegramServer:
    """Telegram Bot API stand-in; see the module docstring for why and how."""

    def __init__(
        self,
        *,
        token: str | None = None,
        validate: bool = True,
        max_poll_wait: float = 0.5,
        host: str = "127.0.0.1",
    ) -> None:
        """``token``: if set, other tokens get 401. ``validate``: reject bad HTML / empty or
        over-long text like Telegram does. ``max_poll_wait``: cap on getUpdates waits."""
        self.token = token
        self.validate = validate
        self.max_poll_wait = max_poll_wait
        self._host = host
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._records: list[_Record] = []
        self._errors: list[str] = []
        self._rules: list[_FailRule] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(9_000_001)
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._message_src: dict[tuple[Any, int], tuple[str, Any]] = {}
        self._chats: dict[Any, dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, bytes] = {}
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._webhook: Params = {}
        self._allowed_updates: list[str] = []
        self._stopping = False
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTelegramServer:
        """Bind 127.0.0.1:0 and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._stopping = False
        self._httpd = _Server((self._host, 0), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="FakeTelegramServer",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Wake pending long polls, then shut the HTTP server down."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeTelegramServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """Pass to ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)``."""
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass to ``ApplicationBuilder.base_file_url`` / ``Bot(base_file_url=...)``."""
        return f"http://{self._host}:{self.port}/file/bot"

    # ------------------------------------------------------------------ inspection
    @property
    def calls(self) -> list[Call]:
        """Snapshot of every API call as ``(method, params)``; form values stay strings."""
        with self._lock:
            return [(r.method, dict(r.params)) for r in self._records]

    @property
    def errors(self) -> list[str]:
        """Tracebacks of stand-in bugs (unexpected exceptions while handling a request)."""
        with self._lock:
            return list(self._errors)

    def calls_to(self, method: str) -> list[Params]:
        """Params of every call to ``method`` (including failed ones)."""
        with self._lock:
            return [dict(r.params) for r in self._records if r.method == method]

    def clear_calls(self) -> None:
        with self._lock:
            self._records.clear()

    def sent_messages(self, chat_id: int | None = None, *, include_failed: bool = False) -> list[Params]:
        """Successful sendMessage calls, decoded: int ``chat_id``, ``text``, ``parse_mode``,
        ``reply_to`` (from reply_parameters / reply_to_message_id), dict-valued
        ``reply_parameters``/``reply_markup``/..., plus the assigned ``message_id`` and ``ok``."""
        return self._decoded_records("sendMessage", chat_id, include_failed)

    def edited_messages(self, chat_id: int | None = None, *, include_failed: bool = False) -> list[Params]:
        """Successful editMessageText calls, decoded like :meth:`sent_messages`."""
        return self._decoded_records("editMessageText", chat_id, include_failed)

    def sent_files(self, chat_id: int | None = None) -> list[Params]:
        """Successful sendDocument/sendPhoto/... calls; adds ``kind``, ``filename``, ``content``."""
        out: list[Params] = []
        with self._lock:
            records = [r for r in self._records if r.method in _MEDIA_KINDS and r.ok]
        for r in records:
            d = _decode_params(r.params)
            if chat_id is not None and d.get("chat_id") != chat_id:
                continue
            kind = _MEDIA_KINDS[r.method]
            upload = r.params.get(kind)
            d["method"] = r.method
            d["kind"] = kind
            d["filename"] = upload.filename if isinstance(upload, UploadedFile) else None
            d["content"] = upload.content if isinstance(upload, UploadedFile) else None
            d["message_id"] = r.result.get("message_id") if isinstance(r.result, dict) else None
            out.append(d)
        return out

    def get_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Current server-side state of a message (after edits; None once deleted)."""
        with self._lock:
            msg = self._messages.get((chat_id, message_id))
            return json.loads(json.dumps(msg)) if msg is not None else None

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands from the last setMyCommands for the default scope/language."""
        with self._lock:
            return list(self._commands.get("", []))

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed via a getUpdates ``offset``."""
        with self._lock:
            return len(self._updates)

    def _decoded_records(self, method: str, chat_id: int | None, include_failed: bool) -> list[Params]:
        with self._lock:
            records = [r for r in self._records if r.method == method and (r.ok or include_failed)]
        out: list[Params] = []
        for r in records:
            d = _decode_params(r.params)
            if chat_id is not None and d.get("chat_id") != chat_id:
                continue
            d.setdefault("parse_mode", None)
            d["reply_to"] = _reply_to(d)
            d["ok"] = r.ok
            if isinstance(r.result, dict):
                d["message_id"] = r.result.get("message_id", d.get("message_id"))
            out.append(d)
        return out

    # ------------------------------------------------------------------ async waits
    async def wait_for(
        self,
        predicate: Callable[[list[Call]], bool],
        timeout: float = 10.0,
        interval: float = 0.02,
    ) -> list[Call]:
        """Poll ``predicate(calls)`` without blocking the loop; raise TimeoutError on expiry."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            snapshot = self.calls
            if predicate(snapshot):
                return snapshot
            if loop.time() >= deadline:
                tail = ", ".join(m for m, _ in snapshot if m != "getUpdates")[-600:]
                raise TimeoutError(f"condition not met within {timeout}s; calls: [{tail}]")
            await asyncio.sleep(interval)

    async def wait_for_messages(
        self, n: int, chat_id: int | None = None, timeout: float = 10.0
    ) -> list[Params]:
        """Wait until at least ``n`` messages were sent (to ``chat_id``); return them all."""
        await self.wait_for(lambda _c: len(self.sent_messages(chat_id)) >= n, timeout=timeout)
        return self.sent_messages(chat_id)

    async def wait_for_calls(
        self,
        method: str,
        n: int = 1,
        *,
        when: Predicate | None = None,
        timeout: float = 10.0,
    ) -> list[Params]:
        """Wait until ``method`` was called ``n`` times (optionally matching ``when``)."""

        def matching(calls: list[Call]) -> list[Params]:
            return [p for m, p in calls if m == method and (when is None or when(p))]

        snapshot = await self.wait_for(lambda c: len(matching(c)) >= n, timeout=timeout)
        return matching(snapshot)

    # ------------------------------------------------------------------ failures
    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        count: int | None = 1,
        when: Predicate | None = None,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (matching ``when(raw_params)``) fail.

        ``count=None`` fails until :meth:`clear_failures`. The default description for 400
        is a "can't parse entities" error; for 429 it is "Too Many Requests: retry after N".
        """
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._rules.append(
                _FailRule(method, error_code, description, retry_after, migrate_to_chat_id, count, when)
            )

    def clear_failures(self) -> None:
        with self._lock:
            self._rules.clear()

    # ------------------------------------------------------------------ feeding updates
    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update dict; ``update_id`` is assigned if missing."""
        with self._cond:
            upd = dict(update)
            if "update_id" not in upd:
                upd["update_id"] = next(self._update_ids)
            self._updates.append(upd)
            self._cond.notify_all()
            return upd

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        username: str | None = "tester",
        first_name: str = "Tester",
        last_name: str | None = None,
        language_code: str | None = "en",
        chat_title: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Queue a text message Update and return it.

        ``entities=None`` auto-detects bot_command/mention entities (as Telegram does);
        pass ``[]`` to send none. ``reply_to_bot`` replies to the bot's latest message in
        the chat (synthesised if there is none).
        """
        extra: dict[str, Any] = {"text": text}
        ents = _auto_entities(text) if entities is None else entities
        if ents:
            extra["entities"] = ents
        return self._push_user_message(
            chat_id,
            extra,
            user_id=user_id,
            chat_type=chat_type,
            username=username,
            first_name=first_name,
            last_name=last_name,
            language_code=language_code,
            chat_title=chat_title,
            reply_to_bot=reply_to_bot,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )

    def register_file(
        self, content: bytes, *, file_path: str | None = None, file_id: str | None = None
    ) -> tuple[str, str]:
        """Make ``content`` downloadable via getFile; return ``(file_id, file_unique_id)``."""
        with self._lock:
            return self._register_file_locked(content, file_path, file_id)

    def push_document(
        self,
        chat_id: int,
        user_id: int | None = None,
        file_name: str = "document.txt",
        content: bytes = b"",
        mime_type: str = "text/plain",
        *,
        caption: str | None = None,
        **who: Any,
    ) -> dict[str, Any]:
        """Queue a message carrying a document whose bytes getFile can serve.

        ``who`` accepts the sender/chat keywords of :meth:`push_message`.
        """
        file_id, unique_id = self.register_file(content, file_path=f"documents/{file_name}")
        doc = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        extra: dict[str, Any] = {"document": doc}
        if caption is not None:
            extra["caption"] = caption
        return self._push_user_message(chat_id, extra, user_id=user_id, **who)

    def push_photo(
        self,
        chat_id: int,
        user_id: int | None = None,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        *,
        caption: str | None = None,
        width: int = 640,
        height: int = 480,
        **who: Any,
    ) -> dict[str, Any]:
        """Queue a photo message (two PhotoSize entries, like Telegram)."""
        small_id, small_uid = self.register_file(content, file_path=None)
        big_id, big_uid = self.register_file(content, file_path=None)
        photo = [
            {"file_id": small_id, "file_unique_id": small_uid, "width": 90, "height": 67,
             "file_size": len(content)},
            {"file_id": big_id, "file_unique_id": big_uid, "width": width, "height": height,
             "file_size": len(content)},
        ]  # fmt: skip
        extra: dict[str, Any] = {"photo": photo}
        if caption is not None:
            extra["caption"] = caption
        return self._push_user_message(chat_id, extra, user_id=user_id, **who)

    def push_voice(
        self,
        chat_id: int,
        user_id: int | None = None,
        content: bytes = b"OggS-fake-voice",
        *,
        duration: int = 3,
        **who: Any,
    ) -> dict[str, Any]:
        """Queue a voice message (audio/ogg)."""
        file_id, uid = self.register_file(content, file_path=None)
        voice = {
            "file_id": file_id,
            "file_unique_id": uid,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._push_user_message(chat_id, {"voice": voice}, user_id=user_id, **who)

    def push_sticker(
        self, chat_id: int, user_id: int | None = None, *, emoji: str = "\U0001f600", **who: Any
    ) -> dict[str, Any]:
        """Queue a sticker message."""
        file_id, uid = self.register_file(b"RIFF-fake-webp", file_path=None)
        sticker = {
            "file_id": file_id,
            "file_unique_id": uid,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": 14,
        }
        return self._push_user_message(chat_id, {"sticker": sticker}, user_id=user_id, **who)

    def push_callback_query(
        self,
        chat_id: int,
        data: str,
        *,
        user_id: int | None = None,
        message_id: int | None = None,
        username: str | None = "tester",
        first_name: str = "Tester",
    ) -> dict[str, Any]:
        """Queue a callback_query (inline button press) on a bot message.

        ``message_id`` defaults to the bot's latest message in the chat.
        """
        uid = user_id if user_id is not None else chat_id
        with self._lock:
            msg = self._find_message_locked(chat_id, message_id, from_bot=True)
            query = {
                "id": str(next(self._callback_ids)),
                "from": self._user(uid, username, first_name, None, "en"),
                "chat_instance": str(chat_id),
                "data": data,
                "message": msg,
            }
        return self.push_update({"callback_query": query})

    # ------------------------------------------------------------------ internals: updates
    def _user(
        self,
        user_id: int,
        username: str | None,
        first_name: str,
        last_name: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat_locked(self, chat_id: Any, chat_type: str | None = None, **info: Any) -> dict[str, Any]:
        """Known chat object, created on first sight (type guessed from the id's sign)."""
        chat = self._chats.get(chat_id)
        if chat is None or (chat_type is not None and chat["type"] != chat_type):
            ctype = chat_type or ("private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup")
            chat = {"id": chat_id, "type": ctype}
            if ctype == "private":
                chat["first_name"] = info.get("first_name") or "Tester"
                if info.get("username"):
                    chat["username"] = info["username"]
            else:
                chat["title"] = info.get("chat_title") or f"Test {ctype} {chat_id}"
            self._chats[chat_id] = chat
        return dict(chat)

    def _find_message_locked(
        self, chat_id: int, message_id: int | None, *, from_bot: bool
    ) -> dict[str, Any]:
        """Stored message (latest bot message if id is None), synthesised when unknown."""
        if message_id is None:
            for (cid, _mid), msg in reversed(self._messages.items()):
                if cid == chat_id and msg.get("from", {}).get("id") == BOT_ID:
                    return {k: v for k, v in msg.items() if k != "reply_to_message"}
        elif (chat_id, message_id) in self._messages:
            msg = self._messages[(chat_id, message_id)]
            return {k: v for k, v in msg.items() if k != "reply_to_message"}
        mid = message_id if message_id is not None else next(self._message_ids)
        synth = {
            "message_id": mid,
            "date": int(time.time()) - 60,
            "chat": self._chat_locked(chat_id),
            "from": dict(BOT_USER) if from_bot else self._user(chat_id, "tester", "Tester", None, "en"),
            "text": "(earlier message)",
        }
        self._messages[(chat_id, mid)] = synth
        return dict(synth)

    def _push_user_message(
        self,
        chat_id: int,
        extra: dict[str, Any],
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        username: str | None = "tester",
        first_name: str = "Tester",
        last_name: str | None = None,
        language_code: str | None = "en",
        chat_title: str | None = None,
        reply_to_bot: bool = False,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        uid = user_id if user_id is not None else (chat_id if chat_type == "private" else 1001)
        with self._lock:
            msg: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self._chat_locked(
                    chat_id, chat_type, first_name=first_name, username=username, chat_title=chat_title
                ),
                "from": self._user(uid, username, first_name, last_name, language_code),
            }
            if message_thread_id is not None:
                msg["message_thread_id"] = message_thread_id
            if reply_to_bot or reply_to_message_id is not None:
                msg["reply_to_message"] = self._find_message_locked(
                    chat_id, reply_to_message_id, from_bot=reply_to_bot
                )
            msg.update(extra)
            self._messages[(chat_id, msg["message_id"])] = msg
        return self.push_update({"message": json.loads(json.dumps(msg))})

    def _register_file_locked(
        self, content: bytes, file_path: str | None, file_id: str | None
    ) -> tuple[str, str]:
        n = next(self._file_ids)
        fid = file_id or f"FILE{n:06d}-{BOT_ID}"
        uid = f"U{n:06d}"
        path = file_path or f"files/file_{n}"
        if path in self._files_by_path:
            stem, dot, ext = path.rpartition(".")
            path = f"{stem}_{n}.{ext}" if dot and stem else f"{path}_{n}"
        self._files[fid] = _StoredFile(fid, uid, path, content)
        self._files_by_path[path] = content
        return fid, uid

    # ------------------------------------------------------------------ internals: HTTP
    def _handle_http(self, req: BaseHTTPRequestHandler) -> None:
        """Parse the request, dispatch, and write the JSON (or file) reply."""
        try:
            split = urlsplit(req.path)
            path = split.path
            if path.startswith("/file/bot"):
                self._serve_file(req, path)
                return
            m = re.fullmatch(r"/bot([^/]+)/([A-Za-z_]+)/?", path)
            if m is None:
                self._write_json(req, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            token, method = unquote(m.group(1)), m.group(2)
            params: Params = dict(parse_qsl(split.query, keep_blank_values=True))
            params.update(self._read_body(req))
            if self.token is not None and token != self.token:
                self._write_json(req, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            status, payload = self._dispatch(method, params)
            self._write_json(req, status, payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception:  # pragma: no cover - stand-in bug; surface it to the test
            tb = traceback.format_exc()
            with self._lock:
                self._errors.append(tb)
            try:
                self._write_json(
                    req, 500, {"ok": False, "error_code": 500, "description": f"stand-in error: {tb}"}
                )
            except OSError:
                pass

    @staticmethod
    def _read_body(req: BaseHTTPRequestHandler) -> Params:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        if not body:
            return {}
        ctype = req.headers.get("Content-Type") or ""
        if ctype.startswith("application/json"):
            data = json.loads(body.decode("utf-8"))
            return dict(data) if isinstance(data, dict) else {}
        if ctype.startswith("multipart/form-data"):
            return _parse_multipart(ctype, body)
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))

    @staticmethod
    def _write_json(req: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Connection", "close")
        req.end_headers()
        req.wfile.write(data)

    def _serve_file(self, req: BaseHTTPRequestHandler, path: str) -> None:
        m = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        content: bytes | None = None
        if m is not None and (self.token is None or unquote(m.group(1)) == self.token):
            with self._lock:
                content = self._files_by_path.get(unquote(m.group(2)))
        if content is None:
            self._write_json(req, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        req.send_response(200)
        req.send_header("Content-Type", "application/octet-stream")
        req.send_header("Content-Length", str(len(content)))
        req.send_header("Connection", "close")
        req.end_headers()
        req.wfile.write(content)

    # ------------------------------------------------------------------ internals: dispatch
    def _dispatch(self, method: str, params: Params) -> tuple[int, dict[str, Any]]:
        """Record the call, apply scripted failures, run the method handler."""
        canonical = self._canonical(method)
        with self._cond:
            record = _Record(canonical, params)
            self._records.append(record)
            rule = self._take_rule_locked(canonical, params)
            try:
                if rule is not None:
                    parameters: Params = {}
                    if rule.retry_after is not None:
                        parameters["retry_after"] = rule.retry_after
                    if rule.migrate_to_chat_id is not None:
                        parameters["migrate_to_chat_id"] = rule.migrate_to_chat_id
                    raise _ApiError(rule.error_code, rule.description, parameters or None)
                handler = getattr(self, f"_m_{canonical}", None)
                result = handler(params) if handler is not None else True
            except _ApiError as err:
                record.ok = False
                body: dict[str, Any] = {
                    "ok": False,
                    "error_code": err.error_code,
                    "description": err.description,
                }
                if err.parameters:
                    body["parameters"] = err.parameters
                return err.error_code, body
            record.result = result
            return 200, {"ok": True, "result": result}

    def _canonical(self, method: str) -> str:
        """Telegram method names are case-insensitive; record the documented spelling."""
        return _CANONICAL.get(method.lower(), method)

    def _take_rule_locked(self, method: str, params: Params) -> _FailRule | None:
        for rule in self._rules:
            if rule.method.lower() != method.lower():
                continue
            if rule.when is not None and not rule.when(params):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    @staticmethod
    def _chat_id(params: Params) -> Any:
        if "chat_id" not in params:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        return _maybe_int(params["chat_id"])

    def _check_text_locked(self, text: Any, parse_mode: Any, *, caption: bool = False) -> str:
        """Apply Telegram's text rules; return the plain text Telegram would store."""
        text = "" if text is None else str(text)
        if not self.validate:
            return text
        plain = text
        if isinstance(parse_mode, str) and parse_mode.upper() == "HTML":
            error, plain = _check_html(text)
            if error:
                raise _ApiError(400, error)
        if not caption and not plain.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        limit = _MAX_CAPTION_LEN if caption else _MAX_TEXT_LEN
        if _utf16_len(plain) > limit:
            raise _ApiError(400, f"Bad Request: {'message caption' if caption else 'message'} is too long")
        return plain

    def _bot_message_locked(self, chat_id: Any, params: Params, content: dict[str, Any]) -> dict[str, Any]:
        """Create, store and return a Message sent by the bot."""
        decoded = _decode_params(params)
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat_locked(chat_id),
            "from": dict(BOT_USER),
        }
        if "message_thread_id" in decoded:
            msg["message_thread_id"] = decoded["message_thread_id"]
        reply_to = _reply_to(decoded)
        if reply_to is not None and (chat_id, reply_to) in self._messages:
            target = self._messages[(chat_id, reply_to)]
            msg["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        msg.update(content)
        markup = decoded.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        self._messages[(chat_id, msg["message_id"])] = msg
        return json.loads(json.dumps(msg))

    # ------------------------------------------------------------------ method handlers
    # Each ``_m_<method>`` runs with the lock held and returns the ``result`` value.

    def _m_getMe(self, params: Params) -> Any:  # noqa: N802
        return dict(BOT_USER)

    def _m_logOut(self, params: Params) -> Any:  # noqa: N802
        return True

    def _m_close(self, params: Params) -> Any:
        return True

    def _m_getUpdates(self, params: Params) -> Any:  # noqa: N802
        """Long poll: return as soon as updates exist, else wait min(timeout, cap)."""
        if self._webhook.get("url"):
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _maybe_int(params.get("offset"))
        limit = _maybe_int(params.get("limit")) or 100
        limit = max(1, min(int(limit), 100))
        timeout = float(params.get("timeout") or 0)
        allowed = _maybe_json(params.get("allowed_updates"))
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if isinstance(offset, int) and offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + min(max(timeout, 0.0), self.max_poll_wait)
        while True:
            pending = [u for u in self._updates if self._is_allowed(u)][:limit]
            if pending or self._stopping:
                return json.loads(json.dumps(pending))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        if not self._allowed_updates:
            return True
        return any(k in self._allowed_updates for k in update if k != "update_id")

    def _m_setWebhook(self, params: Params) -> Any:  # noqa: N802
        self._webhook = _decode_params(params)
        if params.get("drop_pending_updates") == "true":
            self._updates.clear()
        return True

    def _m_deleteWebhook(self, params: Params) -> Any:  # noqa: N802
        self._webhook = {}
        if params.get("drop_pending_updates") == "true":
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: Params) -> Any:  # noqa: N802
        return {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _commands_key(params: Params) -> str:
        scope = _maybe_json(params.get("scope"))
        scope_key = json.dumps(scope, sort_keys=True) if scope and scope != {"type": "default"} else ""
        lang = params.get("language_code") or ""
        return f"{scope_key}|{lang}" if scope_key or lang else ""

    def _m_setMyCommands(self, params: Params) -> Any:  # noqa: N802
        commands = _maybe_json(params.get("commands"))
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse BotCommand array")
        self._commands[self._commands_key(params)] = commands
        return True

    def _m_getMyCommands(self, params: Params) -> Any:  # noqa: N802
        return list(self._commands.get(self._commands_key(params), []))

    def _m_deleteMyCommands(self, params: Params) -> Any:  # noqa: N802
        self._commands.pop(self._commands_key(params), None)
        return True

    def _m_sendMessage(self, params: Params) -> Any:  # noqa: N802
        chat_id = self._chat_id(params)
        plain = self._check_text_locked(params.get("text"), params.get("parse_mode"))
        msg = self._bot_message_locked(chat_id, params, {"text": plain})
        self._message_src[(chat_id, msg["message_id"])] = (
            str(params.get("text")),
            params.get("reply_markup"),
        )
        return msg

    def _edit_target_locked(self, params: Params) -> tuple[Any, int, dict[str, Any]] | None:
        if "inline_message_id" in params:
            return None
        chat_id = self._chat_id(params)
        message_id = _maybe_int(params.get("message_id"))
        msg = self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != BOT_ID:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return chat_id, int(message_id), msg

    def _m_editMessageText(self, params: Params) -> Any:  # noqa: N802
        plain = self._check_text_locked(params.get("text"), params.get("parse_mode"))
        target = self._edit_target_locked(params)
        if target is None:
            return True
        chat_id, message_id, msg = target
        src = (str(params.get("text")), params.get("reply_markup"))
        if self.validate and self._message_src.get((chat_id, message_id)) == src:
            raise _ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._message_src[(chat_id, message_id)] = src
        msg["text"] = plain
        msg["edit_date"] = int(time.time())
        markup = _maybe_json(params.get("reply_markup"))
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        return json.loads(json.dumps(msg))

    def _m_editMessageReplyMarkup(self, params: Params) -> Any:  # noqa: N802
        target = self._edit_target_locked(params)
        if target is None:
            return True
        _chat_id, _mid, msg = target
        markup = _maybe_json(params.get("reply_markup"))
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            msg["reply_markup"] = markup
        else:
            msg.pop("reply_markup", None)
        msg["edit_date"] = int(time.time())
        return json.loads(json.dumps(msg))

    def _m_deleteMessage(self, params: Params) -> Any:  # noqa: N802
        chat_id = self._chat_id(params)
        message_id = _maybe_int(params.get("message_id"))
        if self._messages.pop((chat_id, message_id), None) is None:
            raise _ApiError(400, "Bad Request: message to delete not found")
        self._message_src.pop((chat_id, message_id), None)
        return True

    def _m_sendChatAction(self, params: Params) -> Any:  # noqa: N802
        self._chat_id(params)
        return True

    def _m_answerCallbackQuery(self, params: Params) -> Any:  # noqa: N802
        return True

    def _m_getFile(self, params: Params) -> Any:  # noqa: N802
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _m_getChat(self, params: Params) -> Any:  # noqa: N802
        chat = self._chat_locked(self._chat_id(params))
        chat.update({"accent_color_id": 0, "max_reaction_count": 11})
        return chat

    def _m_getChatMember(self, params: Params) -> Any:  # noqa: N802
        user_id = _maybe_int(params.get("user_id"))
        if user_id == BOT_ID:
            return {"status": "member", "user": dict(BOT_USER)}
        return {"status": "member", "user": self._user(int(user_id), None, "Tester", None, None)}

    def _send_media_locked(self, method: str, params: Params) -> Any:
        """sendDocument/sendPhoto/...: store uploaded bytes and return a Message."""
        chat_id = self._chat_id(params)
        kind = _MEDIA_KINDS[method]
        caption = params.get("caption")
        plain_caption = (
            self._check_text_locked(caption, params.get("parse_mode"), caption=True)
            if caption is not None
            else None
        )
        upload = params.get(kind)
        if isinstance(upload, str) and upload.startswith("attach://"):
            upload = params.get(upload[len("attach://") :])
        if isinstance(upload, UploadedFile):
            fid, uid = self._register_file_locked(upload.content, None, None)
            size, name, mime = len(upload.content), upload.filename, upload.content_type
        elif isinstance(upload, str) and upload in self._files:
            stored = self._files[upload]
            fid, uid = stored.file_id, stored.file_unique_id
            size, name, mime = len(stored.content), None, None
        else:
            raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        obj: dict[str, Any] = {"file_id": fid, "file_unique_id": uid, "file_size": size}
        if kind in ("document", "audio", "video", "animation") and name:
            obj["file_name"] = name
        if kind in ("document", "audio", "video", "animation", "voice") and mime:
            obj["mime_type"] = mime
        if kind in ("audio", "voice", "video", "animation"):
            obj["duration"] = 0
        if kind in ("video", "animation", "sticker"):
            obj.update({"width": 512, "height": 512})
        if kind == "sticker":
            obj.update({"type": "regular", "is_animated": False, "is_video": False})
        content: dict[str, Any] = {kind: [dict(obj, width=512, height=512)] if kind == "photo" else obj}
        if plain_caption:
            content["caption"] = plain_caption
        return self._bot_message_locked(chat_id, params, content)

    def _m_sendDocument(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendDocument", params)

    def _m_sendPhoto(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendPhoto", params)

    def _m_sendAudio(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendAudio", params)

    def _m_sendVoice(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendVoice", params)

    def _m_sendVideo(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendVideo", params)

    def _m_sendAnimation(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendAnimation", params)

    def _m_sendSticker(self, params: Params) -> Any:  # noqa: N802
        return self._send_media_locked("sendSticker", params)


def _iter_methods() -> Iterator[str]:
    """Names of the Bot API methods the stand-in implements (others return ``true``)."""
    return (name[3:] for name in dir(FakeTelegramServer) if name.startswith("_m_"))


#: Methods with dedicated behaviour; anything else is recorded and answered ``true``.
IMPLEMENTED_METHODS: frozenset[str] = frozenset(_iter_methods())
_CANONICAL: dict[str, str] = {name.lower(): name for name in IMPLEMENTED_METHODS}
