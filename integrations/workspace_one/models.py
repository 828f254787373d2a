"""Workspace ONE device records as the client hands them out (integrations.md 3.3).

Workspace ONE wraps ids as `{"Value": n}`, writes timestamps without a zone (UTC), and names
platforms its own way ("Apple" is iOS, "AppleOsX" macOS, "WinRT" Windows): `Device.from_api`
reads all of that tolerantly, so a field missing or differently shaped gives None, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from integrations.timestamps import utc_time


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    MACOS = "macos"
    LINUX = "linux"
    WINDOWS = "windows"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {Platform.ANDROID: "Android", Platform.IOS: "iOS", Platform.MACOS: "macOS",
          Platform.LINUX: "Linux", Platform.WINDOWS: "Windows"}
# Workspace ONE's `Platform` values (and a few spellings seen in scripts) -> ours.
_PLATFORMS = {"android": Platform.ANDROID, "apple": Platform.IOS, "ios": Platform.IOS,
              "ipados": Platform.IOS, "appleosx": Platform.MACOS, "macos": Platform.MACOS,
              "osx": Platform.MACOS, "linux": Platform.LINUX, "winrt": Platform.WINDOWS,
              "windowspc": Platform.WINDOWS, "windows": Platform.WINDOWS,
              "windowsdesktop": Platform.WINDOWS, "windows desktop": Platform.WINDOWS}
# Ours -> what Workspace ONE calls it (the simulator answers with these).
WS1_PLATFORM = {Platform.ANDROID: "Android", Platform.IOS: "Apple", Platform.MACOS: "AppleOsX",
                Platform.LINUX: "Linux", Platform.WINDOWS: "WinRT"}


def platform_of(value: Any) -> Platform | None:
    """Our platform for a Workspace ONE `Platform` value; None for others (ChromeOS, tvOS...)."""
    if isinstance(value, dict):  # `PlatformId: {"Id": ..., "Name": "Apple"}`
        value = value.get("Name")
    return _PLATFORMS.get(str(value or "").strip().lower())


def wrapped_id(value: Any) -> int | None:
    """An id given as `{"Value": n}`, `{"Id": {"Value": n}}` or a bare number."""
    while isinstance(value, dict):
        value = value.get("Value", value.get("Id"))
    try:
        return int(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError):
        return None


def _text(data: dict[str, Any], *names: str) -> str:
    for name in names:
        if data.get(name):
            return str(data[name])
    return ""


@dataclass(frozen=True)
class Device:
    id: int | None
    uuid: str
    udid: str
    serial: str
    name: str  # the name the device reports (its hostname), else the friendly name
    friendly_name: str
    platform: Platform | None
    platform_name: str  # as Workspace ONE says it, for devices outside our five platforms
    os_version: str
    model: str
    user_email: str
    user_name: str
    enrollment: str
    last_seen: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @property
    def enrolled(self) -> bool:
        return self.enrollment.lower() == "enrolled"

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Device:
        platform = data.get("Platform") or data.get("PlatformId")
        friendly = _text(data, "DeviceFriendlyName", "FriendlyName")
        return cls(
            id=wrapped_id(data.get("Id")), uuid=_text(data, "Uuid", "uuid"),
            udid=_text(data, "Udid", "UDID"), serial=_text(data, "SerialNumber", "Serialnumber"),
            name=_text(data, "DeviceReportedName", "DeviceName", "HostName") or friendly,
            friendly_name=friendly, platform=platform_of(platform),
            platform_name=str(platform.get("Name", "")) if isinstance(platform, dict)
            else str(platform or ""),
            os_version=_text(data, "OperatingSystem", "OSVersion"),
            model=_text(data, "Model", "ModelName"),
            user_email=_text(data, "UserEmailAddress", "EmailAddress").strip(),
            user_name=_text(data, "UserName"), enrollment=_text(data, "EnrollmentStatus"),
            last_seen=utc_time(data.get("LastSeen")), raw=data)

    def named(self, name: str) -> bool:
        """Whether `name` is this device's reported or friendly name (case-insensitive)."""
        wanted = name.strip().lower()
        return bool(wanted) and wanted in (self.name.lower(), self.friendly_name.lower())


@dataclass(frozen=True)
class SearchPage:
    devices: tuple[Device, ...]
    page: int
    page_size: int
    total: int

    @property
    def more(self) -> bool:
        return (self.page + 1) * self.page_size < self.total and bool(self.devices)


@dataclass(frozen=True)
class RecoveryKey:
    """A BitLocker or FileVault recovery key: shown once to one person, never kept or logged."""

    kind: str  # "BitLocker" | "FileVault"
    key: str = field(repr=False)
    volume: str = ""  # the BitLocker volume (drive letter or identifier)
    key_id: str = ""
