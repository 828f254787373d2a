"""`deskhand manifest slack|teams|all` and `deskhand teams-package` (wired into bot/cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot import bootstrap
from bot.settings import CoreSettings

COMMANDS = ("manifest", "teams-package")


def _teams_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--website-url", help="support page shown in Teams (default: <public URL>/about)")
    parser.add_argument("--privacy-url",
                        help="privacy statement shown in Teams (default: <public URL>/privacy)")
    parser.add_argument("--terms-url", help="terms of use shown in Teams (default: <public URL>/terms)")
    version = parser.add_mutually_exclusive_group()
    version.add_argument("--version", help="the Teams app's version, MAJOR.MINOR.PATCH; it must go up "
                                           "for Teams to take an update (default: deskhand's version)")
    version.add_argument("--build", type=int, metavar="N",
                         help="version from the build: deskhand's MAJOR.MINOR with N (a CI run number "
                              "or a date) as PATCH")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    manifest = sub.add_parser("manifest", help="the Slack or Teams app manifest, from the command registry")
    msub = manifest.add_subparsers(dest="platform", required=True)
    slack = msub.add_parser("slack", help="Slack app manifest (Socket Mode if DESKHAND_SLACK_APP_TOKEN set)")
    slack.add_argument("-o", "--output", help="file to write (default: standard output)")
    slack.add_argument("--format", choices=["json", "yaml"],
                       help="default: yaml for a .yaml/.yml output file, json otherwise")
    teams = msub.add_parser("teams", help="Teams app manifest (needs DESKHAND_TEAMS_APP_ID)")
    teams.add_argument("-o", "--output", help="file to write (default: standard output)")
    _teams_options(teams)
    every = msub.add_parser("all", help="regenerate a folder: both Slack formats, Teams manifest and icons")
    every.add_argument("--dir", default="manifest", help="folder to write (default: manifest)")
    _teams_options(every)
    package = sub.add_parser("teams-package", help="build the zip to upload to Teams (manifest and icons)")
    package.add_argument("-o", "--output", default="deskhand-teams.zip", help="default: deskhand-teams.zip")
    _teams_options(package)


def _write(output: str | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    # Imported here: `serve` and its workers load this module for its parsers only, and the
    # manifests' zip, icons and YAML would be ~0.5 MiB of their idle RSS (bench/README.md).
    from bot import manifests

    try:
        registry = bootstrap.commands()
        options = manifests.TeamsOptions(
            getattr(args, "website_url", None), getattr(args, "privacy_url", None),
            getattr(args, "terms_url", None),
            manifests.teams_version(getattr(args, "version", None), getattr(args, "build", None)))
        if args.cmd == "teams-package":
            body = manifests.teams_package(settings, registry, options)
            path = Path(args.output)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
            print(f"wrote {path}, version {options.version}: upload it in Teams (Apps > Manage your apps > "
                  "Upload an app); an update needs a higher version than the one installed")
        elif args.platform == "slack":
            data = manifests.slack_manifest(settings, registry)
            fmt = args.format or ("yaml" if (args.output or "").endswith((".yaml", ".yml")) else "json")
            _write(args.output, manifests.to_yaml(data) if fmt == "yaml" else manifests.to_json(data))
        elif args.platform == "teams":
            _write(args.output, manifests.to_json(manifests.teams_manifest(settings, registry, options)))
        else:
            for path in manifests.write_all(Path(args.dir), settings, registry, options):
                print(f"wrote {path}")
        return 0
    except OSError as exc:  # an unwritable or missing output folder: say so, no traceback
        raise manifests.ManifestError(f"cannot write {exc.filename}: {exc.strerror}") from None
