"""A device as one vendor reports it (`Seen`), and what of it the inventory's columns hold
(`fit`): the records every source hands the merge in storage/inventory.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Seen:
    """A device as one source reports it."""

    external_id: str
    name: str
    fqdn: str | None = None
    serial: str | None = None
    os: str = ""
    owner_email: str | None = None
    last_seen: datetime | None = None


Group = tuple[str | None, str | None]  # a vendor group's name and the vendor's id for it
NO_GROUP: Group = (None, None)


# What the columns hold: a longer name is cut, a longer FQDN, serial or email is left out (a cut
# one would match another device), a longer vendor id cannot be kept (`devices import` refuses
# longer values outright).
LIMITS = {"external_id": 200, "name": 200, "fqdn": 255, "serial": 100, "owner_email": 320}
OS_LIMIT = 100


def fit(r: Seen) -> tuple[Seen | None, str]:
    """The record as the columns hold it, and what was cut or why it cannot be kept."""
    external_id, name = r.external_id.strip(), r.name.strip()
    if not external_id or len(external_id) > LIMITS["external_id"]:
        return None, f"the vendor's id is empty or over {LIMITS['external_id']} characters"
    if not name:
        return None, "the device has no name"
    fqdn, serial, owner, os = _fact(r.fqdn), _fact(r.serial), _fact(r.owner_email), r.os or ""
    if ((external_id, name, fqdn, serial, owner, os) == (r.external_id, r.name, r.fqdn, r.serial,
                                                          r.owner_email, r.os)
            and len(name) <= LIMITS["name"]
            and len(os) <= OS_LIMIT and (fqdn is None or len(fqdn) <= LIMITS["fqdn"])
            and (serial is None or len(serial) <= LIMITS["serial"])
            and (owner is None or len(owner) <= LIMITS["owner_email"]) and os == os.strip()):
        return r, ""  # the usual case, a record that fits as it is: no copy (a sync makes 170,000)
    notes = [f"name cut to {LIMITS['name']} characters"] if len(name) > LIMITS["name"] else []
    facts: dict[str, Any] = {}
    for column, value in (("fqdn", fqdn), ("serial", serial), ("owner_email", owner)):
        if value is not None and len(value) > LIMITS[column]:
            notes.append(f"{column} over {LIMITS[column]} characters left out")
            value = None
        facts[column] = value
    cut = replace(r, external_id=external_id, name=name[:LIMITS["name"]].rstrip(),
                  os=os.strip()[:OS_LIMIT], **facts)
    return cut, "; ".join(notes)


def _fact(value: str | None) -> str | None:
    """A fact stripped, None when blank."""
    return (value.strip() or None) if value else None
