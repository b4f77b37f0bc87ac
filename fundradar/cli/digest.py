"""digest preview | send."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from fundradar.cli.common import check_config


def _recipient(address: str | None):  # type: ignore[no-untyped-def]
    from fundradar.config.loader import Recipient, load_recipients
    from fundradar.exceptions import ConfigError

    config = load_recipients()
    if address:
        from fundradar.alerts import subscriptions
        from fundradar.pipeline import db

        with db.session_scope() as session:  # her own filters, when she has subscribed
            sub = subscriptions.find(session, address)
            if sub is not None:
                return config, subscriptions.as_recipient(sub)
        for r in config.recipients:
            if r.email.lower() == address.strip().lower():
                return config, r
        try:
            # not in recipients.yaml: preview with the defaults (English, band medium and up)
            return config, Recipient(email=address.strip())
        except ValueError:
            raise ConfigError("--to", address, "an e-mail address") from None
    if not config.recipients:
        raise ConfigError(
            "recipients.yaml", "recipients", "at least one recipient (or give --to ADDRESS)"
        )
    return config, config.recipients[0]


@click.group("digest")
def digest_group() -> None:
    """The weekly digest e-mail: preview it, or send this week's."""


@digest_group.command("preview")
@click.option(
    "-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the HTML digest to FILE (without it, the text digest is printed).",
)  # fmt: skip
@click.option("--to", "to", metavar="ADDRESS", help="Preview for this recipient.")
def preview_cmd(output: Path | None, to: str | None) -> None:
    """This week's digest for the first recipient (or --to), recording nothing."""
    from sqlalchemy import select

    from fundradar.alerts.compose import iso_week
    from fundradar.alerts.send import render_for
    from fundradar.pipeline import db
    from fundradar.pipeline.models import Delivery, Digest

    check_config()
    config, recipient = _recipient(to)
    now = datetime.now(UTC)
    week = iso_week(now, config.schedule.timezone)
    session = db.session_factory()()
    try:
        # a week already sent previews as it was sent, not as "nothing new since"
        sent = session.scalars(
            select(Delivery.id)
            .join(Digest, Digest.id == Delivery.digest_id)
            .where(Digest.week == week, Delivery.recipient == recipient.email.lower())
        ).first()
        model, html, text = render_for(
            session, recipient, config, now=now, week=week, exclude_delivery=sent
        )
    finally:
        session.rollback()
        session.close()
    if output is None:
        click.echo(f"Subject: {model.subject}\nTo: {recipient.email}\n")
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    click.echo(f"wrote {output} ({model.subject}; for {recipient.email})")


@digest_group.command("send")
@click.option("--dry-run", is_flag=True, help="Say what would be sent; send and record nothing.")
@click.option("--force", is_flag=True, help="Send again to those who already had this week's.")
@click.option("--to", "to", metavar="ADDRESS", help="Only this subscriber.")
@click.option(
    "--allow-sample", is_flag=True,
    help="Mail a database of sample calls (demo, crawl --fixtures) over SMTP anyway; every "
    "subject then starts with [SAMPLE].",
)  # fmt: skip
def send_cmd(dry_run: bool, force: bool, to: str | None, allow_sample: bool) -> int:
    """Send this week's digest to every recipient who has not had it yet.

    Exit 0: everyone has it; 1: some delivery failed or was left pending (printed, stored,
    tried again by the next run); 2: refused (sample calls over SMTP without --allow-sample).
    """
    from fundradar.alerts.send import send_digest

    env = check_config()
    env.ensure_dirs()
    where = (
        f"SMTP {env.smtp.host}:{env.smtp.port} ({env.smtp.security})"
        if env.smtp.host
        else f"the outbox {env.outbox}"
    )
    click.echo(f"digest {'dry run' if dry_run else 'send'} via {where}")
    report = send_digest(
        dry_run=dry_run, force=force, only=to, echo=click.echo, allow_sample=allow_sample
    )
    if report.sample:
        click.echo("note: this database holds SAMPLE calls; subjects start with [SAMPLE]")
    for problem in report.problems:
        click.echo(f"fundradar: {problem}", err=True)
    sent, skipped, failed = report.count("sent"), report.count("skipped"), report.count("failed")
    if dry_run:
        would = report.count("dry-run")
        click.echo(f"{report.week}: {would} would be sent, {skipped} already sent")
    else:
        pending = report.count("pending")
        left = f", {pending} not tried (pending)" if pending else ""
        click.echo(f"{report.week}: {sent} sent, {skipped} already sent, {failed} failed{left}")
    return 0 if report.ok else 1


def register(group: click.Group) -> None:
    group.add_command(digest_group)
