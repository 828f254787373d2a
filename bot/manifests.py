"""The Slack app manifest and the Teams app manifest, both generated from the command registry.

`deskhand manifest slack|teams|all` and `deskhand teams-package` call these; the committed copies
in manifest/ are their output for https://deskhand.example.com (see manifest/README.md).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import manifest_icons
from bot.info_pages import ABOUT_PATH, PRIVACY_PATH, TERMS_PATH
from bot.platforms.slack.commands import UMBRELLA, help_command, slash_commands
from bot.registry import CommandSpec, Registry
from bot.settings import CoreSettings

APP_NAME = "deskhand"
SLACK_EVENTS_PATH = "/slack/events"  # one Request URL for commands, interactivity and events (Bolt)
SLACK_DESCRIPTION_MAX = 100  # the schema allows 2000; Slack's autocomplete shows about one line
SLACK_USAGE_MAX = 1000
TEAMS_MANIFEST_VERSION = "1.29"
TEAMS_SCHEMA_URL = f"https://developer.microsoft.com/json-schemas/teams/v{TEAMS_MANIFEST_VERSION}/MicrosoftTeams.schema.json"
# Older Teams schemas allowed 10 commands, 32-char titles and 128-char descriptions (1.29: 12/128/4000);
# the stricter limits suit every client still in use.
TEAMS_MAX_COMMANDS, TEAMS_TITLE_MAX, TEAMS_DESCRIPTION_MAX = 10, 32, 128
TEAMS_SCOPES = ("personal", "team", "groupChat")
GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# The schema asks for semver and Microsoft's manifest docs for MAJOR.MINOR.PATCH, which Teams
# compares to accept an update; a pre-release or build suffix has no order there, so a version is
# three plain numbers, each within 32 bits as any version parser reads them.
TEAMS_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
VERSION_PART_MAX = 2**31 - 1

# Each bot scope and why deskhand needs it (least privilege: nothing else is requested).
SLACK_BOT_SCOPES: tuple[tuple[str, str], ...] = (
    ("app_mentions:read", "receive `@deskhand <command>` typed in channels (app_mention events)"),
    ("chat:write", "post, post ephemerally and update the cards deskhand sends"),
    ("chat:write.public", "post a command's card in a public channel the bot was not invited to"),
    ("commands", "the /deskhand umbrella command and one slash command per command group"),
    ("files:write", "upload CSV/XLSX exports (files upload API)"),
    ("im:history", "receive commands typed in the bot's direct messages (message.im events)"),
    ("users:read", "users.info, to know who ran a command"),
    ("users:read.email", "the email in users.info that links a Slack user to a deskhand principal"),
)
SLACK_BOT_EVENTS = ("app_mention", "message.im")

SHORT_DESCRIPTION = "Chat-ops for IT support: devices, remote help, approvals, roles and audit."
LONG_DESCRIPTION = (
    "deskhand lets an IT support team work from chat. Look up devices, start remote sessions, run "
    "approved instructions and device actions, and read the audit log, with the same commands in "
    "Slack, Microsoft Teams and the web console. Every command is checked against deskhand's roles "
    "(RBAC) before it runs and every decision is written to the audit log. Type `help` to see the "
    "commands you may run.")


class ManifestError(ValueError):
    """A setting the manifest needs is missing or unusable; the message says which and how to fix it."""


@dataclass(frozen=True)
class TeamsOptions:
    """The developer links Teams shows on the app's details page (default: deskhand's own /about,
    /privacy and /terms pages, bot/info_pages.py) and the package's version (`teams_version`)."""

    website: str | None = None
    privacy: str | None = None
    terms: str | None = None
    version: str | None = None


def app_version() -> str:
    try:
        return metadata.version("deskhand")
    except metadata.PackageNotFoundError:  # running from a tree that was never installed
        return "0.0.0"


def teams_version(version: str | None = None, build: int | None = None) -> str:
    """The Teams package's version: as given, or the package's MAJOR.MINOR with a build number
    (a CI run number, or a date such as `date -u +%y%j%H%M`) as PATCH, or the package version.

    Teams takes an upload over an installed app only when the version goes up, and deskhand's
    own version does not change when its settings (public URL, command prefix) do."""
    if version is not None:
        found = TEAMS_VERSION.match(version)
        if not found or any(int(n) > VERSION_PART_MAX for n in found.groups()):
            raise ManifestError(f"--version {version[:40]!r} is not MAJOR.MINOR.PATCH: three whole "
                                f"numbers up to {VERSION_PART_MAX}, without leading zeros, e.g. "
                                "1.4.2 (Teams compares them to accept an update)")
        return version
    numbers = re.match(r"^(\d+)\.(\d+)\.(\d+)", app_version())
    major, minor, patch = (str(int(n)) for n in numbers.groups()) if numbers else ("0", "0", "0")
    if build is None:
        return f"{major}.{minor}.{patch}"
    if not 0 <= build <= VERSION_PART_MAX:
        raise ManifestError(f"--build {build} must be a whole number from 0 to {VERSION_PART_MAX}: "
                            f"it becomes the patch number, {major}.{minor}.<build>")
    return f"{major}.{minor}.{build}"


def _https_base(settings: CoreSettings, why: str, alternative: str = "") -> str:
    url = settings.public_url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ManifestError(
            f"DESKHAND_PUBLIC_URL is {settings.public_url!r}, but {why} needs the https:// address "
            f"where deskhand is reachable from the internet, e.g. https://deskhand.example.com{alternative}")
    return url


def socket_mode(settings: CoreSettings) -> bool:
    token = settings.slack_app_token
    return token is not None and bool(token.get_secret_value().strip())


def _fit(text: str, limit: int) -> str:
    """`text` if it fits, else its words up to the limit and "…": never a cut word."""
    if len(text) <= limit:
        return text
    head = text[: limit].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return head + "…"


def _by_group(registry: Registry) -> dict[str, list[CommandSpec]]:
    groups: dict[str, list[CommandSpec]] = {g: [] for g in registry.groups()}
    for spec in registry.commands.values():  # registration order within a group
        groups[spec.group].append(spec)
    return groups


def _slash_entry(group: str, specs: list[CommandSpec], help_with: str) -> tuple[str, str | None]:
    """(description, usage hint) of one group's slash command; `help_with`: `/help` or its name."""
    bare = next((s for s in specs if s.name == group), None)
    if bare is not None and all(s is bare or not s.menu for s in specs):
        # Admin-only subcommands (menu=False, e.g. `devices sync`) do not crowd the hint.
        return bare.summary, bare.usage[len(group):].strip() or None
    subs = [s.name.split(" ", 1)[1] for s in specs if s is not bare]
    title = bare.summary if bare else _listing(f"{group.capitalize()} commands: ", subs)
    return title, " | ".join(subs) + f" (then its arguments; {help_with} {group} explains)"


def _listing(lead: str, names: list[str], limit: int = SLACK_DESCRIPTION_MAX) -> str:
    """`lead` and as many names as fit, whole: "Role commands: list, grant and 3 more." """
    for shown in range(len(names), 0, -1):
        rest = len(names) - shown
        text = lead + ", ".join(names[:shown]) + (f" and {rest} more." if rest else ".")
        if len(text) <= limit:
            return text
    return _fit(lead + ", ".join(names) + ".", limit)


def slack_manifest(settings: CoreSettings, registry: Registry) -> dict[str, Any]:
    """App manifest, major version 1 (classic Bolt apps; 2.x is for Slack-hosted Deno apps)."""
    sockets = socket_mode(settings)
    hint = " (or set DESKHAND_SLACK_APP_TOKEN to use Socket Mode)"
    url = None if sockets else _https_base(settings, "Slack's HTTP mode", hint) + SLACK_EVENTS_PATH
    groups = _by_group(registry)
    help_with = help_command(registry, settings)
    commands: list[dict[str, Any]] = []
    for slash, group in slash_commands(registry, settings).items():
        if group is None:
            description = f"Run any {APP_NAME} command; {UMBRELLA} help lists the ones you may run."
            usage: str | None = "<command> [arguments], e.g. help"
        else:
            description, usage = _slash_entry(group, groups[group], help_with)
        entry: dict[str, Any] = {"command": slash, "description": _fit(description, SLACK_DESCRIPTION_MAX)}
        if usage:
            entry["usage_hint"] = _fit(usage, SLACK_USAGE_MAX)
        if url:
            entry["url"] = url
        entry["should_escape"] = False  # the grammar takes emails and names as typed
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": list(SLACK_BOT_EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if url:
        events = {"request_url": url, **events}
        interactivity["request_url"] = url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME, "description": SHORT_DESCRIPTION,
            "background_color": manifest_icons.ACCENT.lower(), "long_description": LONG_DESCRIPTION},
        "features": {
            # The messages tab is where people DM commands to the bot (message.im).
            "app_home": {"home_tab_enabled": False, "messages_tab_enabled": True,
                         "messages_tab_read_only_enabled": False},
            "bot_user": {"display_name": APP_NAME, "always_online": True},
            "slash_commands": commands},
        "oauth_config": {"scopes": {"bot": [scope for scope, _ in SLACK_BOT_SCOPES]}},
        "settings": {
            "event_subscriptions": events, "interactivity": interactivity,
            "org_deploy_enabled": False, "socket_mode_enabled": sockets,
            "token_rotation_enabled": False},
    }


def teams_commands(registry: Registry, limit: int = TEAMS_MAX_COMMANDS) -> list[CommandSpec]:
    """Up to `limit` commands, every group first (round robin in registration order), then by group."""
    groups = {g: [s for s in specs if len(s.name) <= TEAMS_TITLE_MAX and s.menu]
              for g, specs in _by_group(registry).items()}
    groups = {g: specs for g, specs in groups.items() if specs}
    order = sorted(groups, key=lambda g: (g != "help", g))  # help first: it lists everything else
    chosen: list[CommandSpec] = []
    depth = 0
    while len(chosen) < limit and any(len(specs) > depth for specs in groups.values()):
        chosen += [groups[g][depth] for g in order if len(groups[g]) > depth][: limit - len(chosen)]
        depth += 1
    rank = {spec.name: i for i, spec in enumerate(registry.commands.values())}
    return sorted(chosen, key=lambda s: (order.index(s.group), rank[s.name]))


def teams_manifest(settings: CoreSettings, registry: Registry,
                   options: TeamsOptions | None = None) -> dict[str, Any]:
    app_id = settings.teams_app_id.strip()
    if not app_id:
        raise ManifestError("DESKHAND_TEAMS_APP_ID is not set: the Teams manifest needs the bot's "
                            "Microsoft App ID (a GUID from the Azure Bot registration)")
    if not GUID.match(app_id):
        raise ManifestError(f"DESKHAND_TEAMS_APP_ID {app_id!r} is not a GUID "
                            "(expected like 00000000-0000-0000-0000-000000000000)")
    base = _https_base(settings, "the Teams manifest")
    options = options or TeamsOptions()
    commands = [{"title": spec.name, "description": _fit(spec.summary, TEAMS_DESCRIPTION_MAX)}
                for spec in teams_commands(registry)]
    full = f"{LONG_DESCRIPTION} Commands: {', '.join(registry.groups())}."
    return {
        "$schema": TEAMS_SCHEMA_URL,
        "manifestVersion": TEAMS_MANIFEST_VERSION,
        "version": teams_version(options.version),
        "id": app_id,
        "developer": {"name": APP_NAME, "websiteUrl": options.website or base + ABOUT_PATH,
                      "privacyUrl": options.privacy or base + PRIVACY_PATH,
                      "termsOfUseUrl": options.terms or base + TERMS_PATH},
        "name": {"short": APP_NAME, "full": f"{APP_NAME}: IT support chat-ops"},
        "description": {"short": SHORT_DESCRIPTION, "full": _fit(full, 4000)},
        "icons": {"outline": "outline.png", "color": "color.png"},
        "accentColor": manifest_icons.ACCENT,
        "bots": [{
            "botId": app_id, "scopes": list(TEAMS_SCOPES),
            "isNotificationOnly": False, "supportsFiles": False,  # exports are signed download links
            "commandLists": [{"scopes": list(TEAMS_SCOPES), "commands": commands}]}],
        "validDomains": [urlsplit(base).hostname],
        "webApplicationInfo": {"id": app_id},
    }


def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9_./-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(data: Any, indent: int = 0) -> str:
    """Block-style YAML for manifest data (dicts, lists, strings, numbers, booleans); no PyYAML needed."""
    pad = " " * indent
    lines: list[str] = []
    items = data.items() if isinstance(data, dict) else ((None, v) for v in data)
    for key, value in items:
        lead = f"{pad}{_scalar(key)}:" if key is not None else f"{pad}-"
        if isinstance(value, dict | list) and value:
            if key is None and isinstance(value, dict):  # "- first: x" then the rest aligned under it
                nested = to_yaml(value, indent + 2)
                lines.append(f"{pad}- {nested[indent + 2:]}".rstrip("\n"))
            else:
                lines.append(lead)
                lines.append(to_yaml(value, indent + 2).rstrip("\n"))
        elif isinstance(value, dict | list):
            lines.append(f"{lead} {'{}' if isinstance(value, dict) else '[]'}")
        else:
            lines.append(f"{lead} {_scalar(value)}")
    return "\n".join(lines) + "\n"


def teams_files(settings: CoreSettings, registry: Registry,
                options: TeamsOptions | None = None) -> dict[str, bytes]:
    """The upload package's files, by name at the zip root."""
    return {"manifest.json": to_json(teams_manifest(settings, registry, options)).encode(),
            "color.png": manifest_icons.color_png(), "outline.png": manifest_icons.outline_png()}


def teams_package(settings: CoreSettings, registry: Registry, options: TeamsOptions | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in teams_files(settings, registry, options).items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # same bytes for same input
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, body)
    return buffer.getvalue()


def write_all(directory: Path, settings: CoreSettings, registry: Registry,
              options: TeamsOptions | None = None) -> list[Path]:
    """Regenerate the manifest folder: Slack JSON and YAML, and the Teams manifest with its icons."""
    slack = slack_manifest(settings, registry)
    files: dict[Path, bytes] = {
        directory / "slack-manifest.json": to_json(slack).encode(),
        directory / "slack-manifest.yaml": to_yaml(slack).encode(),
        **{directory / "teams" / name: body
           for name, body in teams_files(settings, registry, options).items()},
    }
    for path, body in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return list(files)
