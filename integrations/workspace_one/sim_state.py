"""The Workspace ONE simulator's fleet and records: devices as the API shows them (the v1 shape
of integrations.md 3.3), and every command, message and note sent to them."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from integrations.workspace_one.models import WS1_PLATFORM, Platform, platform_of

# (name, serial, udid or None to make one up, platform, OS version, enrolled user's email or None)
Seed = tuple[str, str, str | None, str, str, str | None]
MODELS = {Platform.WINDOWS: "Latitude 7440", Platform.MACOS: "MacBook Pro (14-inch, 2023)",
          Platform.IOS: "iPhone 15", Platform.ANDROID: "Pixel 8", Platform.LINUX: "ThinkPad X1"}
# Command names as Workspace ONE takes them (any casing), with the older spellings scripts use.
COMMANDS = {n.lower(): n for n in ("Lock", "EnterpriseWipe", "DeviceWipe", "DeviceQuery",
                                   "ClearPasscode", "SyncDevice", "SoftReset", "Shutdown",
                                   "EnterpriseReset", "RotateFileVaultKey")}
COMMANDS.update(devicelock="Lock", lockdevice="Lock")


def problem(status: int, code: int, message: str,
            headers: dict[str, str] | None = None) -> web.Response:
    """Workspace ONE's error answer: `{errorCode, message, activityId}`."""
    return web.json_response({"errorCode": code, "message": message,
                              "activityId": str(uuid.uuid4())}, status=status, headers=headers)


@dataclass
class SimDevice:
    id: int
    name: str
    serial: str
    udid: str
    platform: Platform | None
    platform_name: str
    os: str
    email: str
    uuid: str
    bitlocker_key: str = ""
    filevault_key: str = ""
    last_seen: datetime = field(default_factory=lambda: datetime.now(UTC))
    group: str = "Corp"  # its organization group; renamed, it keeps its id
    group_id: int = 570

    def to_api(self) -> dict[str, Any]:
        user = self.email.split("@")[0] if self.email else ""
        model = MODELS.get(self.platform, "Unknown") if self.platform else "Unknown"
        return {
            "Id": {"Value": self.id}, "Uuid": self.uuid, "Udid": self.udid,
            "SerialNumber": self.serial, "MacAddress": "", "Imei": "", "EasId": "",
            "AssetNumber": "", "DeviceReportedName": self.name,
            "DeviceFriendlyName": f"{user or 'staging'} {model} {self.os} {self.serial[-4:]}",
            "LocationGroupId": {"Id": {"Value": self.group_id},
                                "Uuid": str(uuid.UUID(int=self.group_id)), "Name": self.group},
            "LocationGroupName": self.group,
            "UserId": {"Id": {"Value": 1000 + self.id}, "Name": user}, "UserName": user,
            "UserEmailAddress": self.email, "Ownership": "C",
            "PlatformId": {"Id": {"Value": 0}, "Name": self.platform_name},
            "Platform": self.platform_name, "ModelId": {"Id": {"Value": 0}, "Name": model},
            "Model": model, "OperatingSystem": self.os, "PhoneNumber": "",
            "LastSeen": self.last_seen.replace(tzinfo=None).isoformat(timespec="milliseconds"),
            "EnrollmentStatus": "Enrolled", "ComplianceStatus": "Compliant",
            "CompromisedStatus": False, "IsSupervised": self.platform is Platform.IOS,
        }


@dataclass(frozen=True)
class Sent:
    """A command, message, passcode, log request or note as the simulator received it."""

    device_id: int
    kind: str  # a command's name ("Lock"...), "ChangePasscode", "FindDevice", "Message", "Note"...
    body: dict[str, Any]
    query: dict[str, str]
    version: str
    at: datetime


def make_fleet(fleet: Sequence[Seed], rng: random.Random, first_id: int = 1001) -> list[SimDevice]:
    out = []
    for n, (name, serial, udid, platform, os_version, email) in enumerate(fleet):
        ours = platform_of(platform)
        digits = "-".join(f"{rng.randrange(10**6):06d}" for _ in range(8))
        out.append(SimDevice(
            id=first_id + n, name=name, serial=serial,
            udid=udid or f"{rng.getrandbits(128):032x}".upper(), platform=ours,
            platform_name=WS1_PLATFORM[ours] if ours else str(platform), os=os_version,
            email=email or "", uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            bitlocker_key=digits if ours is Platform.WINDOWS else "",
            filevault_key="-".join("".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                           for _ in range(4)) for _ in range(6))
            if ours is Platform.MACOS else "",
            last_seen=datetime.now(UTC) - timedelta(minutes=rng.randrange(0, 60 * 24))))
    return out
