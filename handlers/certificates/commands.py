"""`cert list`, `cert download <thumbprint>`, `cert activate <thumbprint>` and its button."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Text, message_card
from cards.model import Context as Small
from handlers.certificates import downloads, lifecycle, texts
from handlers.certificates.activation import activate, check_activatable, idp_config
from handlers.certificates.cards import activated_card, confirm_card, list_card
from handlers.certificates.keys import parse_thumbprint
from storage.certificates import CertificateRepo, IdpCertificate


async def _find(ctx: Context, thumbprint: str) -> IdpCertificate:
    async with ctx.runtime.db.uow() as uow:
        row = await uow.repo(CertificateRepo).by_thumbprint(ctx.tenant_id, thumbprint)
    if row is None:
        raise NotFound(texts.NOT_FOUND.format(thumbprint=thumbprint), title=texts.NOT_FOUND_TITLE)
    ctx.target = row.thumbprint
    return row


async def list_command(ctx: Context, cmd: Command) -> Reply:
    # the first one is made on first sight, not an hour later
    await lifecycle.ensure(ctx.runtime, ctx.tenant_id)
    async with ctx.runtime.db.uow() as uow:
        rows = await uow.repo(CertificateRepo).current(ctx.tenant_id)
    return Reply.private(list_card(rows, datetime.now(UTC), ctx.correlation_id))


async def download_command(ctx: Context, cmd: Command) -> Reply:
    row = await _find(ctx, cmd.args["thumbprint"])
    name = downloads.file_name(row)
    if ctx.messenger.supports.uploads:
        await ctx.messenger.upload(cmd.reply_to, name, row.certificate_pem.encode(), title=name,
                                   comment=texts.UPLOAD_COMMENT.format(subject=row.subject,
                                                                       thumbprint=row.thumbprint))
        await ctx.runtime.audit.record(
            ctx.tenant_id, "infrastructure", "certificate.download", "ok", actor=ctx.actor,
            correlation_id=ctx.correlation_id, target=row.thumbprint,
            params={"thumbprint": row.thumbprint, "via": "upload"})
        return Reply.private(message_card(texts.UPLOADED_TITLE, texts.UPLOADED.format(name=name),
                                          context=f"ref {ctx.correlation_id}"))
    url = ctx.runtime.downloads.url(downloads.KIND, {"t": ctx.tenant_id, "p": ctx.actor.principal.id,
                                                     "c": row.id})
    return Reply.private(Card(texts.LINK_TITLE.format(thumbprint=row.thumbprint), [
        Text(texts.LINK_TEXT.format(name=name)), Small(f"ref {ctx.correlation_id}")],
        [Button(texts.LINK_BUTTON.format(name=name), "cert.pem", url=url, style="primary")]))


async def activate_command(ctx: Context, cmd: Command) -> Reply:
    row = await _find(ctx, cmd.args["thumbprint"])
    check_activatable(row, datetime.now(UTC))
    config = idp_config(ctx.runtime)
    if config is None:
        raise UserError(texts.NOT_CONFIGURED, title=texts.NOT_CONFIGURED_TITLE)
    return Reply.private(confirm_card(row, config.vendor, config.client_id, ctx.correlation_id))


async def activate_clicked(ctx: Context, interaction: Interaction) -> Reply:
    done = await activate(ctx, interaction.args[0])
    return Reply.update(activated_card(done.row, done.vendor, done.replaced, ctx.correlation_id))


THUMBPRINT = Arg("thumbprint", "the certificate's SHA-1 thumbprint, as `cert list` shows it",
                 convert=parse_thumbprint)
EXAMPLE = "3F2A9C4B0D1E5F6A7B8C9D0E1F2A3B4C5D6E7F80"
COMMANDS = (
    CommandSpec("cert list", "The IdP certificates: the active one and any available one.",
                list_command, permission="certificate.read", menu=False),
    CommandSpec("cert download", "The public certificate as <thumbprint>.pem, to upload to the IdP.",
                download_command, permission="certificate.read", args=(THUMBPRINT,),
                examples=(f"cert download {EXAMPLE}",), menu=False),
    CommandSpec("cert activate", "Make an uploaded certificate the one deskhand signs in with, "
                "after a real token request proves the IdP accepts it.", activate_command,
                permission="certificate.write", args=(THUMBPRINT,),
                examples=(f"cert activate {EXAMPLE}",), menu=False),
)
ACTIONS = (ActionSpec("cert.activate", activate_clicked, permission="certificate.write",
                      params=(an_id,), damaged=texts.DAMAGED),)
