"""review CALL [relevant|not-relevant|shortlist] [--reason TEXT]."""

from __future__ import annotations

import click

from fundradar.cli.common import check_config, echo_err, when

VERDICT_CHOICES = ("relevant", "not-relevant", "shortlist")


@click.command("review")
@click.argument("call")
@click.argument("verdict", required=False, type=click.Choice(VERDICT_CHOICES))
@click.option("--reason", help="Why (recommended for not-relevant: it re-tunes the scorer).")
def review_cmd(call: str, verdict: str | None, reason: str | None) -> None:
    """Mark a call relevant, not-relevant or shortlist; without a verdict, show its verdicts.

    CALL is the call's id, its key (e.g. eu_ft:HORIZON-CL6-2026-04-GOVERNANCE-01) or a URL it
    was seen at. The author is FUNDRADAR_AUTHOR (else $USER).
    """
    from fundradar.pipeline import db
    from fundradar.pipeline.review import record_verdict, resolve_call

    env = check_config()
    with db.session_scope() as session:
        row = resolve_call(session, call)
        label = f"call {row.id} ({row.key}): {row.title}"
        if verdict is None:
            click.echo(label)
            if not row.verdicts:
                click.echo("  no verdict yet")
            for v in row.verdicts:
                note = f": {v.reason}" if v.reason else ""
                click.echo(f"  {when(v.created_at)}  {v.verdict:<12} by {v.author}{note}")
            return
        if verdict == "not-relevant" and not (reason or "").strip():
            echo_err("note: no --reason given; a reason helps re-tune the scorer")
        v = record_verdict(session, row, verdict, reason=reason, author=env.author)
        click.echo(f"{label}\n  marked {v.verdict} by {v.author} at {when(v.created_at)}")


def register(group: click.Group) -> None:
    group.add_command(review_cmd)
