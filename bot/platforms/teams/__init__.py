"""Microsoft Teams adapter: Bot Framework over botbuilder's CloudAdapter at POST /api/messages."""


