"""Microsoft Teams adapter: Bot Framework over botbuilder's CloudAdapter at POST /api/messages."""

from bot.platforms.teams.adapter import TeamsAdapter, mount

__all__ = ["TeamsAdapter", "mount"]
