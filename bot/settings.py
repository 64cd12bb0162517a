"""The one place that reads the environment (prefix NEWSBOT_, `.env` supported).

Every field has a description; `.env.example` lists them all, one line each.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from index.embedding import EncoderOptions
    from index.indexing import IndexOptions
    from index.store import ChromaTarget

    from bot.answer import AnswerOptions
    from bot.llm.client import LLMOptions

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_prompts() -> Path:
    return PROJECT_ROOT / "prompts"


class Settings(BaseSettings):
    """newsbot's configuration; see `.env.example`."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
    )

    # --- knowledge base -------------------------------------------------------------------
    data_dir: Path = Field(Path("./newsbot-data"), description="Where the embedded Chroma index lives.")
    articles_dir: Path = Field(
        Path("./sample_articles"),
        description="Folder that `/reindex` (Telegram) re-indexes; the sample articles by default.",
    )
    chunk_tokens: int = Field(160, ge=32, le=256, description="Chunk size in word pieces.")
    dense_chunks: int | None = Field(
        0, ge=0,
        description="Embed at most this many chunks per article at index time (0 = none, the "
        "measured default; 1000 = all); every article always gets one title+lead vector.",
    )
    sentence_vectors: bool = Field(
        False, description="Embed every sentence at index time (slow: 33x the default build); by "
        "default answers embed the few sentences they weigh on demand, cached by content.",
    )
    index_batch: int = Field(
        256, ge=1, le=4096,
        description="Texts embedded and committed together while indexing (smaller: finer progress).",
    )
    max_file_mb: float = Field(10.0, gt=0, description="Files larger than this are refused.")

    embedding: Literal["minilm", "openai"] = Field(
        "minilm", description="minilm = offline all-MiniLM-L6-v2; openai = an OpenAI-compatible endpoint."
    )
    embedding_base_url: str | None = Field(None, description="Base URL of the embeddings endpoint.")
    embedding_model: str | None = Field(None, description="Embedding model name at that endpoint.")
    embedding_api_key: SecretStr | None = Field(None, description="API key for the embeddings endpoint.")
    embedding_dimension: int | None = Field(None, description="Requested embedding dimension, if the model supports it.")

    chroma_host: str | None = Field(None, description="Use a Chroma server at this host instead of the embedded store.")
    chroma_port: int = Field(8000, description="Chroma server port.")
    chroma_database: str | None = Field(
        None, description="Chroma database on that server (created if missing; empty = the server's default) "
        "so several indexes can share one server.",
    )
    chroma_timeout: float = Field(
        30.0, gt=0, description="Seconds before a Chroma server that does not answer is an error."
    )
    chroma_ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")
    chroma_auth_header: str = Field("Authorization", description="Header that carries the Chroma token.")
    chroma_auth_token: SecretStr | None = Field(None, description="Chroma token (sent as 'Bearer <token>' in Authorization).")

    # --- answering ------------------------------------------------------------------------
    top_k: int = Field(6, ge=1, le=20, description="Passages considered for an answer.")
    max_claims: int = Field(3, ge=1, le=8, description="Sentences an extractive answer quotes at most.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused with a message.")
    memory_turns: int = Field(4, ge=0, le=20, description="Previous turns kept per conversation.")
    prompts_dir: Path = Field(default_factory=_default_prompts, description="Folder with the prompt templates.")

    llm_base_url: str | None = Field(None, description="OpenAI-compatible base URL; set to have an LLM write answers.")
    llm_model: str | None = Field(None, description="Model name at that endpoint.")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM endpoint (any value for local servers).")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before an LLM call is abandoned.")
    llm_retries: int = Field(1, ge=0, le=5, description="Retries after a failed LLM call.")
    llm_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature of the LLM.")
    llm_max_tokens: int = Field(700, ge=50, description="Longest answer the LLM may write, in tokens.")

    # --- telegram -------------------------------------------------------------------------
    telegram_token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    telegram_base_url: str | None = Field(None, description="Bot API base URL (for a local Bot API server).")
    telegram_base_file_url: str | None = Field(None, description="Bot API file base URL (for a local Bot API server).")
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Telegram user ids allowed to re-index (comma-separated)."
    )
    allowed_user_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Telegram user ids allowed to use the bot (empty = everyone)."
    )
    telegram_webhook_url: str | None = Field(None, description="Public URL; when set the bot uses a webhook instead of polling.")
    telegram_webhook_listen: str = Field("127.0.0.1", description="Address the webhook server listens on.")
    telegram_webhook_port: int = Field(8443, description="Port the webhook server listens on.")
    telegram_webhook_secret: SecretStr | None = Field(None, description="Secret token Telegram sends with webhook calls.")

    # --- feeds and web pages --------------------------------------------------------------
    feeds_every_minutes: float = Field(
        30, ge=0, description="`newsbot telegram` refreshes the feeds this often (0 = off; cron `newsbot feeds update` instead)."
    )
    fetch_timeout: float = Field(20.0, gt=0, description="Seconds before a web page or feed that does not answer is an error.")
    fetch_host_delay: float = Field(1.0, ge=0, description="Seconds between two requests to the same web site.")
    fetch_user_agent: str = Field(
        "newsbot/0.1 (news question-answering bot; respects robots.txt)",
        description="User-Agent sent with every request (robots.txt rules for it apply).",
    )
    fetch_max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed at most per URL.")

    log_level: str = Field("INFO", description="Logging level.")

    @field_validator("admin_ids", "allowed_user_ids", mode="before")
    @classmethod
    def _ids(cls, v: object) -> object:
        if isinstance(v, str):
            return [int(x) for x in v.replace(";", ",").split(",") if x.strip()]
        if isinstance(v, int):
            return [v]
        return v

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    # --- the option objects of the code that uses them -------------------------------------
    def index_options(self) -> IndexOptions:
        from index.indexing import IndexOptions

        return IndexOptions(chunk_tokens=self.chunk_tokens, dense_chunks=self.dense_chunks,
                            sentence_vectors=self.sentence_vectors, batch_texts=self.index_batch,
                            max_bytes=self.max_bytes)

    def encoder_options(self) -> EncoderOptions:
        from index.embedding import EncoderOptions

        return EncoderOptions(kind=self.embedding, model=self.embedding_model,
                              base_url=self.embedding_base_url, api_key=_secret(self.embedding_api_key),
                              dimension=self.embedding_dimension)

    def chroma_target(self) -> ChromaTarget | None:
        """The Chroma server, or None for the embedded store in `data_dir`."""
        from index.store import ChromaTarget

        if not self.chroma_host:
            return None
        headers: dict[str, str] = {}
        token = _secret(self.chroma_auth_token)
        if token:
            bearer = self.chroma_auth_header.lower() == "authorization"
            headers[self.chroma_auth_header] = f"Bearer {token}" if bearer else token
        return ChromaTarget(host=self.chroma_host, port=self.chroma_port, ssl=self.chroma_ssl,
                            headers=headers, database=self.chroma_database,
                            timeout=self.chroma_timeout)

    def llm_options(self) -> LLMOptions | None:
        """The LLM endpoint, or None for extractive answers."""
        from bot.llm.client import LLMOptions

        if not (self.llm_base_url and self.llm_model):
            return None
        return LLMOptions(base_url=self.llm_base_url, model=self.llm_model,
                          api_key=_secret(self.llm_api_key), timeout=self.llm_timeout,
                          retries=self.llm_retries, temperature=self.llm_temperature,
                          max_tokens=self.llm_max_tokens)

    def answer_options(self) -> AnswerOptions:
        from bot.answer import AnswerOptions

        return AnswerOptions(top_k=self.top_k, max_claims=self.max_claims,
                             max_question_chars=self.max_question_chars)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
