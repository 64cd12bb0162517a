"""The example question shown by the CLI and the Telegram bot.

Why a module of its own: both front ends need it, and importing it from `bot.cli` made the
Telegram package and the CLI import each other.
"""

EXAMPLE = "What did Yuri Ushakov say the ceasefire would give Ukraine?"
