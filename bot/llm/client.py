"""The OpenAI-compatible client and one call with bounded retries; failures become words.

llama-index's OpenAILike is the client. Its own retries are off: `chat` retries exactly
`LLMOptions.retries` times (llama-index's wrapper would add 1-20 s random back-off and multiply
with the openai SDK's retries).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class LLMOptions:
    """Where the model is and how to call it (built by `Settings.llm_options()`)."""

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 30.0
    retries: int = 1
    temperature: float = 0.1
    max_tokens: int = 700


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


def make_client(options: LLMOptions) -> Any:
    """llama-index's OpenAILike for these options, with its own retries off."""
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=options.model,
        api_base=options.base_url,
        api_key=options.api_key or "unused",
        is_chat_model=True,
        is_function_calling_model=False,
        max_retries=0,
        timeout=options.timeout,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
    )


def chat(llm: Any, messages: list[tuple[str, str]], retries: int, **kwargs: Any) -> str:
    """One answer from the model, retried on transient errors; CallFailed otherwise."""
    from llama_index.core.llms import ChatMessage

    msgs = [ChatMessage(role=role, content=content) for role, content in messages]
    for attempt in range(retries + 1):
        t0 = time.perf_counter()
        try:
            content = llm.chat(msgs, **kwargs).message.content
        except Exception as exc:  # noqa: BLE001 - every client error becomes one line
            log.warning("LLM call failed after %.1f s: %s: %s", time.perf_counter() - t0,
                        type(exc).__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
            if attempt < retries and is_transient(exc):
                time.sleep(RETRY_PAUSE_S * (attempt + 1))
                continue
            raise CallFailed(describe_failure(exc), unavailable=is_unavailable(exc)) from None
        if not (content or "").strip():
            raise CallFailed("returned an empty answer")
        return str(content)
    raise CallFailed("failed")  # pragma: no cover - the loop always returns or raises


