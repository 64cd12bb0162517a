"""Assembling and running the bot: the PTB Application, its handlers, polling or webhook.

Why `newsbot` is passed in: its owner builds it once (the CLI, inside the data-dir lock it
holds; tests, with their own index) instead of the front end opening a second one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any
from urllib.parse import urlsplit

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.errors import ConfigError, NewsbotError, PromptError
from bot.service import Newsbot
from bot.settings import Settings
from bot.telegram.feeds import LINK_ONLY, FeedCommands
from bot.telegram.handlers import TelegramFrontend
from bot.telegram.runtime import ChatOrderedProcessor, NewsbotRateLimiter, protect_logs

log = logging.getLogger(__name__)


def build_application(settings: Settings, newsbot: Newsbot) -> Application[Any, Any, Any, Any, Any, Any]:
    """The configured PTB Application, its handlers answering from `newsbot`."""
    if settings.telegram_token is None:
        raise ValueError("NEWSBOT_TELEGRAM_TOKEN is not set")
    token = settings.telegram_token.get_secret_value()
    protect_logs(token, settings.telegram_webhook_secret.get_secret_value()
                 if settings.telegram_webhook_secret else None)
    front = TelegramFrontend(settings, newsbot)
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True),
                           allow_sending_without_reply=True))
        .rate_limiter(NewsbotRateLimiter(max_retries=3))
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(front.post_init)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    app = builder.build()
    app.bot_data["frontend"] = front
    feeds = app.bot_data["feeds"] = FeedCommands(front)

    new = filters.UpdateType.MESSAGE  # edited messages are not new questions
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, front.gate), group=-1)
    for name, callback in (("start", front.on_start), ("help", front.on_help),
                           ("sources", front.on_sources), ("reset", front.on_reset),
                           ("ask", front.on_ask), ("reindex", front.on_reindex),
                           ("forget", front.on_forget), ("addfeed", feeds.on_addfeed),
                           ("feeds", feeds.on_feeds), ("removefeed", feeds.on_removefeed)):
        app.add_handler(CommandHandler(name, callback, filters=new))
    app.add_handler(MessageHandler(new & filters.Regex(LINK_ONLY) & ~filters.COMMAND & private, feeds.on_link))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & private, front.on_private_text))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & groups, front.on_group_text))
    app.add_handler(MessageHandler(new & filters.Document.ALL, front.on_document))
    app.add_handler(MessageHandler(new & filters.COMMAND, front.on_unknown_command))
    app.add_handler(MessageHandler(new & ~filters.TEXT & ~filters.StatusUpdate.ALL, front.on_media))
    app.add_error_handler(front.on_error)
    feeds.schedule(app)
    return app


def run_bot(settings: Settings, newsbot: Newsbot) -> int:
    """`newsbot telegram`: long polling, or a webhook when NEWSBOT_TELEGRAM_WEBHOOK_URL is set."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value().strip():
        print("newsbot: NEWSBOT_TELEGRAM_TOKEN is not set; get a token from @BotFather and put "
              "it in .env", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=settings.log_level.upper())
    try:
        newsbot.answerer  # noqa: B018 - load the models and check the prompt templates now
    except (PromptError, ConfigError, ValueError) as exc:  # a broken template or setting: refuse to start
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:  # e.g. the Chroma server is down: serve and retry later
        log.warning("the knowledge base is not available yet: %s", exc)
    app = build_application(settings, newsbot)
    try:
        if settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            app.run_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=[Update.MESSAGE],
                close_loop=False,
            )
        else:
            app.run_polling(allowed_updates=[Update.MESSAGE], close_loop=False)
    except InvalidToken:
        print("newsbot: Telegram rejected the bot token; check NEWSBOT_TELEGRAM_TOKEN", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"newsbot: cannot reach Telegram: {exc}", file=sys.stderr)
        return 1
    return 0
