"""The public pages a Teams app links to: /about (support), /privacy and /terms.

Teams requires a website, a privacy and a terms-of-use URL in every app manifest. These pages
answer from deskhand itself and name who runs it (DESKHAND_OPERATOR_NAME, _CONTACT), so a generated
package never points at a page that does not exist. An operator with its own pages passes
--website-url, --privacy-url and --terms-url instead (docs/teams.md).
"""

from __future__ import annotations

from functools import partial
from html import escape

from aiohttp import web

from bot.settings import CoreSettings

ABOUT_PATH, PRIVACY_PATH, TERMS_PATH = "/about", "/privacy", "/terms"
NOBODY = "the IT team that runs this deskhand"
NO_CONTACT = "your IT service desk"

ABOUT = (
    "{operator} runs deskhand here: chat-ops for IT support. People look up devices, start remote "
    "sessions and run approved instructions and device actions from Slack, Microsoft Teams or the "
    "web console, within the roles {operator} gives them.",
    "For help, access or a problem with deskhand, contact {contact}.",
)
PRIVACY = (
    "{operator} decides what deskhand is used for and is responsible for the data it keeps. "
    "Contact: {contact}.",
    "What deskhand keeps: people from your organisation's directory (name, email, groups, whether "
    "the account is active); the Slack or Teams accounts linked to each person; the roles people "
    "hold; the commands people run, with deskhand's decision on each, in an audit log that cannot "
    "be changed; the results of instructions and device actions; and where to post approvals and "
    "reminders.",
    "Where it goes: answers go back to the chat or console where you asked. Commands reach only "
    "the IT systems {operator} has connected (such as device management, remote support or the "
    "service desk), and only to carry out a command someone was allowed to run.",
    "The web console sets one cookie, to keep you signed in. deskhand does no tracking and no "
    "advertising.",
    "How long data is kept is set by {operator}. To see or correct what deskhand holds about you, "
    "contact {contact}.",
)
TERMS = (
    "deskhand is an internal tool that {operator} provides to its IT staff and the people they "
    "support. {operator}'s own IT policies apply to its use.",
    "Use it only for the work your role allows. Every command is checked against the roles "
    "{operator} gave you and is recorded in the audit log.",
    "Device actions and remote sessions act on real devices and people's work: check the target "
    "before you confirm.",
    "Questions about these terms: {contact}.",
)
PAGES = {ABOUT_PATH: ("About deskhand", ABOUT), PRIVACY_PATH: ("Privacy", PRIVACY),
         TERMS_PATH: ("Terms of use", TERMS)}


def _contact(value: str) -> str:
    shown = escape(value)
    if value.startswith(("https://", "http://")):
        return f'<a href="{shown}">{shown}</a>'
    if "@" in value and " " not in value:
        return f'<a href="mailto:{shown}">{shown}</a>'
    return shown


def render(settings: CoreSettings, title: str, paragraphs: tuple[str, ...]) -> str:
    operator = escape(settings.operator_name.strip() or NOBODY)
    contact = _contact(settings.operator_contact.strip()) or NO_CONTACT
    body = "\n".join(f"<p>{p.format(operator=operator, contact=contact)}</p>" for p in paragraphs)
    links = " · ".join(f'<a href="{path}">{name}</a>' for path, (name, _) in PAGES.items())
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>deskhand: {title}</title></head>\n<body style=\"font-family: sans-serif; "
            f'max-width: 40em; margin: 2em auto; padding: 0 1em; line-height: 1.5">\n'
            f"<h1>{title}</h1>\n{body}\n<p><small>{links}</small></p>\n</body></html>\n")


async def _page(settings: CoreSettings, path: str, request: web.Request) -> web.Response:
    title, paragraphs = PAGES[path]
    return web.Response(text=render(settings, title, paragraphs), content_type="text/html",
                        headers={"Cache-Control": "public, max-age=3600"})


def routes(app: web.Application, settings: CoreSettings) -> None:
    for path in PAGES:
        app.router.add_get(path, partial(_page, settings, path))
