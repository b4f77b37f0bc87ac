"""review CALL [relevant|not-relevant|shortlist] [--reason TEXT] | review --from-csv FILE."""

from __future__ import annotations

from pathlib import Path

import click

from fundradar.cli.common import check_config, echo_err, when

VERDICT_CHOICES = ("relevant", "not-relevant", "shortlist")


@click.command("review")
@click.argument("call", required=False)
@click.argument("verdict", required=False, type=click.Choice(VERDICT_CHOICES))
@click.option("--reason", help="Why (recommended for not-relevant: it re-tunes the scorer).")
@click.option(
    "--from-csv", "from_csv", type=click.Path(path_type=Path, dir_okay=False),
    help="Apply the verdicts typed into the verdict column of an exported CSV.",
)  # fmt: skip
@click.pass_context
def review_cmd(
    ctx: click.Context, call: str | None, verdict: str | None, reason: str | None,
    from_csv: Path | None,
) -> None:  # fmt: skip
    """Mark a call relevant, not-relevant or shortlist; without a verdict, show its verdicts.

    CALL is the call's id, its key (e.g. eu_ft:HORIZON-CL6-2026-04-GOVERNANCE-01) or a URL it
    was seen at. The author is FUNDRADAR_AUTHOR (else $USER).

    --from-csv FILE applies the verdicts typed into the "verdict" column of a CSV written by
    `export csv` (as Excel saves it: comma or semicolon, UTF-8 or Windows-1252): "relevant",
    "not relevant: <reason>" or "shortlist". Each row is reported applied, unchanged or
    refused; exit 0: all applied or unchanged; 1: some refused; 2: the file cannot be read.
    """
    if from_csv is not None:
        if call or verdict or reason:
            raise click.UsageError("--from-csv takes no CALL, VERDICT or --reason")
        ctx.exit(_from_csv(from_csv))
    if not call:
        raise click.UsageError("give a CALL (id, key or URL), or --from-csv FILE")

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


def _from_csv(path: Path) -> int:
    """Apply a CSV's verdicts, one line per row with a verdict; the exit code."""
    from fundradar.pipeline import db
    from fundradar.pipeline.verdict_csv import apply_csv
    from fundradar.wording import plural

    env = check_config()
    with db.session_scope() as session:
        outcomes, empty = apply_csv(session, path, author=env.author)
    # printed once committed: "applied" is only said of verdicts that are stored
    for outcome in outcomes:
        click.echo(outcome.line())
    counts = {s: sum(o.status == s for o in outcomes) for s in ("applied", "unchanged", "refused")}
    click.echo(
        f"{counts['applied']} applied, {counts['unchanged']} unchanged, "
        f"{counts['refused']} refused by {env.author}; "
        f"{plural(empty, 'row')} without a verdict"
    )
    return 1 if counts["refused"] else 0


def register(group: click.Group) -> None:
    group.add_command(review_cmd)
