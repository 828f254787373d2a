"""ORM models. Every workflow and directory fact lives here; chat platforms hold none."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


# BigInteger on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Always UTC and tz-aware in Python, whatever the backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime}


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PrincipalRow(Base):
    __tablename__ = "principals"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)  # SCIM id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatIdentity(Base):
    __tablename__ = "chat_identities"
    __table_args__ = (UniqueConstraint("platform", "platform_tenant", "platform_user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    platform_tenant: Mapped[str] = mapped_column(String(100))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    display: Mapped[str] = mapped_column(String(200), default="")
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectoryGroup(Base):
    __tablename__ = "directory_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "display_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)


class GroupMembership(Base):
    __tablename__ = "group_memberships"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), primary_key=True)
    principal_id: Mapped[int] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), primary_key=True, index=True)


class RoleRow(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(JSON)
    system: Mapped[bool] = mapped_column(Boolean, default=False)


class RoleAssignment(Base):
    """A role bound to a principal or a directory group, over a device and instruction scope.

    `device_groups`/`devices` None means every device; `instruction_sets` None means every set.
    """

    __tablename__ = "role_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="CASCADE"), index=True, default=None)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("directory_groups.id", ondelete="CASCADE"), index=True, default=None)
    device_groups: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    devices: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    instruction_sets: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    granted_by: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ManagementGroup(Base):
    __tablename__ = "management_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    # The same group's id in 1E: `group:` runs then go out as a managementgroup scope.
    tachyon_id: Mapped[str | None] = mapped_column(String(64), default=None)


class Device(Base):
    """Inventory cache; the endpoint-management systems stay the source of truth."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    fqdn: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    serial: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    os: Mapped[str] = mapped_column(String(100), default="")
    management_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("management_groups.id", ondelete="SET NULL"), index=True, default=None)
    owner_email: Mapped[str | None] = mapped_column(String(320), default=None)
    last_seen: Mapped[datetime | None] = mapped_column(default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TenantSettingsRow(Base):
    __tablename__ = "tenant_settings"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class AuditEvent(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    correlation_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # command, interaction, denial, decision, external
    action: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(32))
    actor_email: Mapped[str | None] = mapped_column(String(320), index=True, default=None)
    actor_principal_id: Mapped[int | None] = mapped_column(Integer, default=None)
    platform_identity: Mapped[str | None] = mapped_column(String(400), default=None)
    target: Mapped[str | None] = mapped_column(String(300), index=True, default=None)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    detail: Mapped[str] = mapped_column(Text, default="")


class JobClaim(Base):
    """One row per (job, key): a lease for recurring jobs, a once-only claim for events."""

    __tablename__ = "job_claims"
    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class InboxItem(Base):
    """A chat request already acknowledged to its platform whose work has not finished.

    Written before the ack and deleted when the work ends (bot/inbox.py), so the table holds only
    what is queued or running. `claimed_by`/`lease_until` mark the worker running it; a lease
    that lapses means that worker died mid-way.
    """

    __tablename__ = "inbox"
    # AUTOINCREMENT on SQLite: the table is usually empty, and a reused id could let a late
    # finish delete somebody else's request.
    __table_args__ = (Index("ix_inbox_claim", "claimed_by", "id"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)  # JSON as the adapter wrote it, sealed (SecretBox)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class TeamsConversation(Base):
    """Where deskhand can post in Teams without being spoken to first (proactive messages).

    `reference` is the Bot Framework ConversationReference JSON, refreshed from every inbound
    activity because Teams may change `serviceUrl`. `user_aad_id` is set for 1:1 chats so a
    person can be messaged directly; `installed` turns false when the app is removed.
    """

    __tablename__ = "teams_conversations"
    __table_args__ = (UniqueConstraint("tenant_id", "conversation_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(500))
    conversation_type: Mapped[str] = mapped_column(String(32), default="")
    aad_tenant_id: Mapped[str] = mapped_column(String(100), default="")
    team_id: Mapped[str | None] = mapped_column(String(200), default=None)
    channel_id: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    user_aad_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    service_url: Mapped[str] = mapped_column(String(500))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON)
    installed: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RemoteSession(Base):
    """A TeamViewer session deskhand asked for: pending -> open | failed; open -> closing -> closed.

    Only a session TeamViewer confirmed is ever "open"; links are kept to redraw the card.
    """

    __tablename__ = "remote_sessions"
    # Not unique: TeamViewer may hand out a code again once the old session is long closed.
    __table_args__ = (Index("ix_remote_sessions_tenant_code", "tenant_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str | None] = mapped_column(String(32), default=None)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), default=None)
    device_name: Mapped[str] = mapped_column(String(200))
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    end_customer: Mapped[str | None] = mapped_column(String(320), default=None)
    ticket: Mapped[str | None] = mapped_column(String(64), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    full_client: Mapped[bool | None] = mapped_column(Boolean, default=None)
    supporter_link: Mapped[str] = mapped_column(String(1000), default="")
    end_customer_link: Mapped[str] = mapped_column(String(1000), default="")
    webclient_link: Mapped[str] = mapped_column(String(1000), default="")
    description: Mapped[str] = mapped_column(String(1000), default="")
    valid_until: Mapped[datetime | None] = mapped_column(default=None)
    correlation_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(320), default=None)
    end_state: Mapped[str] = mapped_column(String(300), default="")


class TeamViewerCredential(Base):
    """The tenant's OAuth tokens, sealed with DESKHAND_SECRET_KEY; `version` guards rotation."""

    __tablename__ = "teamviewer_credentials"
    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    connected_by: Mapped[str] = mapped_column(String(320))
    connected_at: Mapped[datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)


class TeamViewerOAuthState(Base):
    """A pending `teamviewer connect`: the state's hash, the sealed PKCE verifier, an expiry."""

    __tablename__ = "teamviewer_oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("principals.id", ondelete="CASCADE"))
    verifier: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class InstructionDefinitionRow(Base):
    """The tenant's copy of the 1E instruction catalogue, refreshed by the sync job."""

    __tablename__ = "instruction_definitions"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    readable_payload: Mapped[str] = mapped_column(String(1000), default="")
    kind: Mapped[str] = mapped_column(String(16))  # question | action
    instruction_set: Mapped[str] = mapped_column(String(200), default="")
    parameters: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)  # the response schema
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstructionRun(Base):
    """One `run`: requested -> awaiting_approval -> approved -> sent -> in_progress -> completed
    | failed | expired | cancelled | denied. Every transition is a compare-and-set on `state`;
    `lease_*` names the one process driving it, `issue_attempts` > 0 means Tachyon may already
    hold it (found again by ConsumerCustomData before any re-issue)."""

    __tablename__ = "instruction_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    definition_name: Mapped[str] = mapped_column(String(200), index=True)
    definition_vendor_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    instruction_set: Mapped[str] = mapped_column(String(200), default="")
    readable_payload: Mapped[str] = mapped_column(String(1000), default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_label: Mapped[str] = mapped_column(String(300))
    target_count: Mapped[int] = mapped_column(Integer, default=0)
    target_group: Mapped[str | None] = mapped_column(String(200), default=None)  # `group:` runs
    # Set when 1E gets a scope expression instead of the FQDN list (a linked group).
    vendor_scope: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    incident: Mapped[str | None] = mapped_column(String(64), default=None)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    vendor_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)
    vendor_status: Mapped[int | None] = mapped_column(Integer, default=None)
    issue_attempts: Mapped[int] = mapped_column(Integer, default=0)
    vendor_approval_tried: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    received_count: Mapped[int] = mapped_column(Integer, default=0)
    outstanding_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    answers_stored: Mapped[int] = mapped_column(Integer, default=0)
    errors_stored: Mapped[int] = mapped_column(Integer, default=0)
    answer_cursor: Mapped[str] = mapped_column(String(200), default="0;0")
    error_cursor: Mapped[str] = mapped_column(String(200), default="0;0")
    gather_minutes: Mapped[int] = mapped_column(Integer, default=60)
    keep_minutes: Mapped[int] = mapped_column(Integer, default=120)
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True, default=None)
    lease_holder: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive vendor failures
    last_error: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(500), default="")
    reply_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    correlation_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_by: Mapped[str | None] = mapped_column(String(320), default=None)
    responses_purged: Mapped[bool] = mapped_column(Boolean, default=False)


class InstructionRunTargets(Base):
    """A run's devices, apart from the run row: 50,000 of them are megabytes, and the run row is
    rewritten on every poll (SQLite rewrites a whole row on UPDATE)."""

    __tablename__ = "instruction_run_targets"
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), primary_key=True)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # name, fqdn, group
    search: Mapped[str] = mapped_column(Text, default="")  # ",pc-0001,pc-0001.corp...," for LIKE


class ApprovalRequest(Base):
    """pending -> approved | denied | expired | cancelled, decided by compare-and-set."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), default=None)
    decided_by_email: Mapped[str | None] = mapped_column(String(320), default=None)
    decided_via: Mapped[str | None] = mapped_column(String(400), default=None)  # chat account
    reason: Mapped[str] = mapped_column(String(500), default="")
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkflowCard(Base):
    """Every copy of a workflow card deskhand posted, so each can be updated when state moves."""

    __tablename__ = "workflow_cards"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("instruction_runs.id", ondelete="CASCADE"), index=True)
    audience: Mapped[str] = mapped_column(String(16))  # approvers | requester
    platform: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(200))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstructionResponse(Base):
    """One device's answer (or error) to a run; paged by keyset on (run_id, is_error, id)."""

    __tablename__ = "instruction_responses"
    __table_args__ = (Index("ix_instruction_responses_page", "run_id", "is_error", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("instruction_runs.id", ondelete="CASCADE"))
    is_error: Mapped[bool] = mapped_column(Boolean, default=False)
    fqdn: Mapped[str] = mapped_column(String(255))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
