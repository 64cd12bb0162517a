"""Who may use the bot, and whether a message is meant for it: pure rules, no I/O.

Why plain functions: the rules depend only on ids, the settings' lists and the message,
so they are testable and usable without an Application.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from telegram import Message, MessageEntity
from telegram.constants import ChatType


def is_admin(user_id: int | None, admin_ids: Collection[int]) -> bool:
    return user_id is not None and user_id in admin_ids


def is_allowed(user_id: int | None, allowed_ids: Collection[int], admin_ids: Collection[int]) -> bool:
    """An empty allow-list serves everyone; admins are always allowed."""
    return (not allowed_ids or is_admin(user_id, admin_ids)
            or (user_id is not None and user_id in allowed_ids))


def addressed(message: Message, bot_id: int, username: str) -> bool:
    """Private chats always; groups only for a mention, a reply to us, or our command."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    return (replies_to_bot(message, bot_id) or mentions_bot(message, bot_id, username)
            or command_for_us(message, username))


def command_for_us(message: Message, username: str) -> bool:
    """A /command at the start of the message, without @bot or with ours."""
    text = message.text or ""
    ents = message.entities or ()
    if not ents or ents[0].type != MessageEntity.BOT_COMMAND or ents[0].offset != 0:
        return False
    command = text.split(maxsplit=1)[0]
    return "@" not in command or command.split("@", 1)[1].lower() == username.lower()


def mentions_bot(message: Message, bot_id: int, username: str) -> bool:
    for ent, text in {**message.parse_entities(), **message.parse_caption_entities()}.items():
        if ent.type == MessageEntity.MENTION and text[1:].lower() == username.lower():
            return True
        if ent.type == MessageEntity.TEXT_MENTION and ent.user is not None and ent.user.id == bot_id:
            return True
    return False


def replies_to_bot(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    if reply is None or reply.from_user is None or reply.from_user.id != bot_id:
        return False
    # In forum topics every message "replies" to the topic's first message.
    return not (message.is_topic_message and reply.message_id == message.message_thread_id)


def strip_mention(text: str, username: str) -> str:
    return re.sub(rf"(?i)@{re.escape(username)}\b", " ", text).strip()


def safe_file_name(name: str | None, fallback: str = "article") -> str:
    """A file name that cannot escape the articles folder or hide itself (no dot first)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100] or fallback
    suffix = re.sub(r"[^\w]+", "", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem
