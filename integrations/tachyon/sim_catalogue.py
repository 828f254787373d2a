"""The Tachyon simulator's seeded catalogue: instruction sets, definitions in the API's own
PascalCase shape (integrations.md 2.2), and how each definition's devices answer.

Answers are a pure function of (instruction id, device, row number, parameters), so any
window of responses can be produced on demand without storing rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Values = dict[str, Any]
Generator = Callable[[int, str, int, dict[str, str], dict[str, Any]], Values]

SETS = [
    {"Id": 1, "Name": "Diagnostics", "Description": "Read-only questions about device health"},
    {"Id": 2, "Name": "Software inventory", "Description": "What is installed where"},
    {"Id": 3, "Name": "Remote Support", "Description": "TeamViewer client checks and installs"},
    {"Id": 4, "Name": "Remediation", "Description": "Actions that change a device"},
]
SERVICE_RE = r"^[A-Za-z0-9_.-]{1,64}$"


def mix(*parts: object) -> int:
    """A stable 64-bit hash (Python's own `hash` is salted per process)."""
    raw = "|".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def _param(name: str, *, regex: str | None = None, hint: str = "", default: str | None = None,
           allowed: list[str] | None = None, data_type: str = "string", max_length: int = 0,
           required: bool = True) -> dict[str, Any]:
    return {"Name": name, "Pattern": f"%{name}%", "DataType": data_type,
            "ControlType": "valuePicker" if allowed else "freeText",
            "ControlMetadata": {"Values": [{"Value": v} for v in allowed]} if allowed else None,
            "Placeholder": hint, "DefaultValue": default or "", "HintText": hint, "Source": None,
            "Value": None,
            "Validation": {"Regex": regex, "MaxLength": str(max_length) if max_length else None,
                           "AllowedValues": allowed, "NotNull": required}}


WINDOWS_BUILDS = {("11", "23H2"): "22631", ("11", "24H2"): "26100", ("10", "22H2"): "19045"}
OS_NAME = re.compile(r"^(?:Microsoft )?(Windows|macOS) (\d+)(?: (\w+))?", re.I)


def _os(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    """From the device's own `os` fact when the fleet has one (the demo's inventory: one source),
    else made up from the hash (synthetic fleets)."""
    known = OS_NAME.match(str(attrs.get("os") or ""))
    if known is None and attrs.get("os"):
        return {"OperatingSystem": str(attrs["os"]), "Version": "", "Build": "", "Architecture": "x64"}
    if known is None:
        mac = fqdn.startswith("mac-")
        major, version = ("15", "") if mac else (("11", "23H2"), ("11", "24H2"), ("10", "22H2"))[h % 3]
        family = "macOS" if mac else "Windows"
    else:
        family, major, version = known.group(1), known.group(2), known.group(3) or ""
    if family.lower() == "macos":
        return {"OperatingSystem": "macOS", "Version": f"{major}.{h % 4}", "Build": f"24A{h % 400}",
                "Architecture": "arm64"}
    build = WINDOWS_BUILDS.get((major, version.upper()), "0")
    return {"OperatingSystem": f"Microsoft Windows {major} Enterprise", "Version": version.upper(),
            "Build": f"{build}.{h % 5000}", "Architecture": "x64"}


def _uptime(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    hours = h % 720
    boot = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=hours)
    return {"LastBootUtc": boot.strftime("%Y-%m-%dT%H:%M:%SZ"), "UptimeHours": hours}


def _service(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    name = params.get("serviceName", "Spooler")
    return {"ServiceName": name, "DisplayName": f"{name} service",
            "State": "Running" if h % 7 else "Stopped", "StartMode": ["Auto", "Manual", "Auto"][h % 3]}


def _file(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    folder = ["C:\\Users\\Public\\Documents", "C:\\Temp"][row % 2]
    return {"FilePath": f"{folder}\\{params.get('fileName', 'x.log')}", "SizeBytes": h % 5_000_000,
            "ModifiedUtc": (datetime(2026, 1, 1, tzinfo=UTC) - timedelta(minutes=h % 90_000))
            .strftime("%Y-%m-%dT%H:%M:%SZ")}


PRODUCTS = [("Microsoft Edge", "Microsoft Corporation"), ("Google Chrome", "Google LLC"),
            ("7-Zip", "Igor Pavlov"), ("Zoom Workplace", "Zoom Video Communications"),
            ("Adobe Acrobat Reader", "Adobe"), ("Microsoft 365 Apps", "Microsoft Corporation"),
            ("TeamViewer", "TeamViewer Germany GmbH"), ("Notepad++", "Notepad++ Team")]


def _software(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    wanted = params.get("productName", "%").strip("%*").lower()
    pool = [p for p in PRODUCTS if wanted in p[0].lower()] or PRODUCTS
    product, publisher = pool[(mix(fqdn) + row) % len(pool)]  # distinct products per device
    return {"Product": product, "Version": f"{(h >> 8) % 130}.{(h >> 16) % 10}.{row}",
            "Publisher": publisher}


def tv_installed(h: int, attrs: dict[str, Any]) -> bool:
    known = attrs.get("teamviewer_full_client")
    return bool(known) if known is not None else h % 5 != 0


def _tv_check(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    installed = tv_installed(mix(fqdn), attrs)
    return {"Installed": installed, "ClientType": "Full client" if installed else "QuickSupport only",
            "Version": "15.61.3" if installed else ""}


def _tv_install(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    already = tv_installed(mix(fqdn), attrs)
    return {"Result": "AlreadyInstalled" if already else "Installed",
            "Version": "15.62.0" if params.get("channel") == "preview" else "15.61.3", "ExitCode": 0}


def _restart(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    return {"ServiceName": params.get("serviceName", ""), "Result": "Restarted", "NewState": "Running"}


def _kill(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    found = h % 4 != 0
    return {"ProcessName": params.get("processName", ""), "ProcessId": 1000 + h % 60000 if found else 0,
            "Result": "Terminated" if found else "NotRunning"}


def _temp(h: int, fqdn: str, row: int, params: dict[str, str], attrs: dict[str, Any]) -> Values:
    return {"FilesDeleted": h % 3000, "BytesFreed": (h >> 12) % 4_000_000_000}


@dataclass(frozen=True)
class Entry:
    api: dict[str, Any]  # the definition exactly as GET InstructionDefinitions returns it
    generate: Generator
    rows_per_device: int = 1
    errors: tuple[str, ...] = ("Access is denied.",
                               "Timed out waiting for the instruction to execute.")
    schema: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> int:
        return int(self.api["Id"])

    @property
    def name(self) -> str:
        return str(self.api["Name"])

    @property
    def is_action(self) -> bool:
        return self.api["InstructionType"] == 1


def _entry(id_: int, name: str, set_id: int, kind: str, readable: str, description: str,
           columns: list[tuple[str, str]], generate: Generator, params: list[dict[str, Any]] | None = None,
           rows: int = 1, errors: tuple[str, ...] | None = None) -> Entry:
    set_name = next(s["Name"] for s in SETS if s["Id"] == set_id)
    schema = [{"Name": c, "Type": t, "Length": 512 if t == "string" else 0} for c, t in columns]
    api = {"Id": id_, "Name": name, "Description": description, "ReadablePayload": readable,
           "InstructionType": 1 if kind == "action" else 0, "InstructionSetId": set_id,
           "InstructionSetName": set_name, "Version": "1.0", "Author": "1E",
           "Parameters": params or [], "Schema": schema, "Aggregation": None,
           "ResponseTemplateConfiguration": None, "InstructionTtlMinutes": 60, "ResponseTtlMinutes": 120,
           "MinimumInstructionTtlMinutes": 10, "MaximumInstructionTtlMinutes": 10080,
           "MinimumResponseTtlMinutes": 10, "MaximumResponseTtlMinutes": 10080}
    extra = {"errors": errors} if errors else {}
    return Entry(api, generate, rows, schema=schema, **extra)


CATALOGUE: list[Entry] = [
    _entry(101, "1E-Explorer-TachyonCore-GetOperatingSystem", 1, "question",
           "What operating system is installed?", "Operating system name, version and build",
           [("OperatingSystem", "string"), ("Version", "string"), ("Build", "string"),
            ("Architecture", "string")], _os),
    _entry(102, "1E-Explorer-TachyonCore-DeviceUptime", 1, "question",
           "When did the device last start?", "Last boot time and uptime in hours",
           [("LastBootUtc", "datetime"), ("UptimeHours", "int64")], _uptime),
    _entry(103, "1E-Explorer-TachyonCore-ServiceStatus", 1, "question",
           "What is the state of the %serviceName% service?", "State and start mode of one service",
           [("ServiceName", "string"), ("DisplayName", "string"), ("State", "string"),
            ("StartMode", "string")],
           _service, [_param("serviceName", regex=SERVICE_RE, hint="Service name, e.g. Spooler",
                             max_length=64)],
           errors=("The specified service does not exist as an installed service.", "Access is denied.")),
    _entry(104, "1E-Explorer-TachyonCore-FindFile", 1, "question",
           "Where is a file called %fileName%?", "Finds a file by name in the usual user folders",
           [("FilePath", "string"), ("SizeBytes", "int64"), ("ModifiedUtc", "datetime")], _file,
           [_param("fileName", regex=r"^[^\\/:*?\"<>|]{1,255}$", hint="File name, e.g. error.log",
                   max_length=255)], rows=2),
    _entry(105, "1E-Explorer-TachyonCore-InstalledSoftware", 2, "question",
           "Which products matching %productName% are installed?", "Installed products, name filter",
           [("Product", "string"), ("Version", "string"), ("Publisher", "string")], _software,
           [_param("productName", regex=r"^[\w .%*+-]{1,100}$", hint="Product name or % for all",
                   default="%", required=False, max_length=100)], rows=3),
    _entry(201, "1E-TeamViewer-CheckFullClientInstalled", 3, "question",
           "Is the TeamViewer full client installed?",
           "Whether the TeamViewer full client (not only QuickSupport) is installed",
           [("Installed", "bool"), ("ClientType", "string"), ("Version", "string")], _tv_check),
    _entry(202, "1E-TeamViewer-InstallFullClient", 3, "action",
           "Install the TeamViewer full client from the %channel% channel",
           "Installs the TeamViewer full client silently, assigned to the company account",
           [("Result", "string"), ("Version", "string"), ("ExitCode", "int32")], _tv_install,
           [_param("channel", allowed=["stable", "preview"], default="stable", hint="Release channel")],
           errors=("Installer exited with code 1603.", "Not enough disk space.")),
    _entry(301, "1E-Explorer-TachyonCore-RestartService", 4, "action",
           "Restart the %serviceName% service", "Stops and starts one service",
           [("ServiceName", "string"), ("Result", "string"), ("NewState", "string")], _restart,
           [_param("serviceName", regex=SERVICE_RE, hint="Service name, e.g. Spooler", max_length=64)]),
    _entry(302, "1E-Explorer-TachyonCore-KillProcess", 4, "action",
           "Terminate every process called %processName%", "Kills a process by executable name",
           [("ProcessName", "string"), ("ProcessId", "int32"), ("Result", "string")], _kill,
           [_param("processName", regex=r"^[A-Za-z0-9_. -]{1,60}\.exe$", hint="Executable, e.g. notepad.exe",
                   max_length=64)]),
    _entry(303, "1E-Explorer-TachyonCore-ClearTempFiles", 4, "action",
           "Delete temporary files older than %olderThanDays% days", "Frees disk space in temp folders",
           [("FilesDeleted", "int32"), ("BytesFreed", "int64")], _temp,
           [_param("olderThanDays", regex=r"^[1-9][0-9]{0,2}$", data_type="int", default="7",
                   hint="Days, 1-999")]),
]
