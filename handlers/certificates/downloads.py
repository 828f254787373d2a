"""`cert download`'s file: `<thumbprint>.pem`, the public certificate only (never the key).

Uploaded into the conversation where the platform takes files (Slack), else a signed link that
re-checks certificate.read when opened. Every download is an infrastructure audit event.
"""

from __future__ import annotations

from typing import Any

from bot.audit import Audit
from bot.model import new_correlation_id
from bot.rbac import decide, grants_of
from storage.certificates import CertificateRepo, IdpCertificate
from storage.directory import DirectoryRepo

KIND = "certificate.pem"
CONTENT_TYPE = "application/x-pem-file"


def file_name(row: IdpCertificate) -> str:
    return f"{row.thumbprint}.pem"


async def download(runtime: Any, payload: dict[str, Any]) -> tuple[str, str, bytes]:
    """The signed link's handler: the person must still hold certificate.read."""
    async with runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal(int(payload["p"]))
        row = await uow.repo(CertificateRepo).get(int(payload["t"]), int(payload["c"]))
        if person is None or row is None or person.tenant_id != row.tenant_id:
            raise PermissionError("the certificate or the person no longer exists")
        grants = await grants_of(uow, row.tenant_id, person.id)
        if not decide(grants, "certificate.read", active=person.active).allowed:
            raise PermissionError("you no longer hold certificate.read")
        await Audit.add(uow, row.tenant_id, "infrastructure", "certificate.download", "ok",
                        actor_label=person.email, correlation_id=new_correlation_id(),
                        target=row.thumbprint, params={"thumbprint": row.thumbprint, "via": "link"})
        await uow.commit()
    return file_name(row), CONTENT_TYPE, row.certificate_pem.encode()
