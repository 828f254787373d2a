"""The instruction capability's settings: DESKHAND_TACHYON_* for the process, and per tenant."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from bot.tenant_settings import TenantSection


class TachyonConfig(BaseModel):
    """DESKHAND_TACHYON_*: where 1E's Consumer API is and who deskhand is there."""

    tachyon_url: str = Field("", description=(
        "1E's Consumer API root, `https://<server>/Consumer/`; empty: no 1E"))
    tachyon_consumer: str = Field("deskhand", description=(
        "the consumer name registered in 1E (`X-Tachyon-Consumer`)"))
    tachyon_token: SecretStr | None = Field(None, description=(
        "`X-Tachyon-Authenticate` for deskhand's principal in 1E"))
    tachyon_approver_token: SecretStr | None = Field(None, description=(
        "a second principal's token, for approvals made on 1E's side"))
    # 1E's own limit is not documented, so a larger group goes out as its 1E management
    # group's scope (`deskhand groups link`).
    tachyon_max_fqdns: int = Field(default=10_000, ge=1, le=100_000, description=(
        "the most device names sent in one targeted instruction"))


class InstructionSettings(TenantSection):
    """Per tenant (DESIGN.md "Settings"), with the ITSM connector's defaults."""

    keep_answers_minutes: int = Field(120, ge=10, le=10080)
    gather_data_minutes: int = Field(60, ge=10, le=10080)
    response_keep_days: int = Field(5, ge=1, le=365)
    history_keep_months: int = Field(3, ge=1, le=60)
    status_wait_seconds: int = Field(3, ge=1, le=300)
    response_batch_size: int = Field(100, ge=10, le=10000)
    export_file_prefix: str = Field("deskhand", pattern=r"^[A-Za-z0-9_-]{1,40}$")
    max_targets: int = Field(500, ge=1, le=50000)
