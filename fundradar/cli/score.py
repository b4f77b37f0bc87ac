"""score [FILE] | score --explain CALL: score JSONL calls, or show how a stored score is made.

Replaces the `score` command of `core` (registered after it, under the same name): without
--explain it does exactly what that command did (JSONL in, JSONL out, no database).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from fundradar.cli.common import check_config
from fundradar.wording import plural


@click.command("score")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@click.option(
    "--explain",
    "ref",
    metavar="CALL",
    help="A stored call (id, key or URL): print every contribution to its score, "
    "the rules' and the feedback from past verdicts.",
)
def score_cmd(file: Any, ref: str | None) -> None:
    """Score calls given as JSONL (FILE or - for stdin); print JSONL in the same order.

    With --explain CALL, rescore one stored call and print each contribution (points and
    reason), the gates, and the feedback from the team's verdicts with its bound.
    """
    from fundradar.pipeline.score import load_profile

    env = check_config()
    profile = load_profile(env.config_dir / "priorities.yaml")
    if ref is not None:
        click.echo(explain(ref, profile))
        return
    from fundradar.pipeline.score.jsonl import score_lines

    out = sys.stdout
    for line in score_lines(file, profile):
        out.write(line + "\n")
    out.flush()


def _call_of(row: Any) -> dict[str, Any]:
    return {
        "title": row.title,
        "summary": row.summary,
        "eligibility_text": row.eligibility_text,
        "eligible_countries": row.eligible_countries,
        "eligible_applicants": row.eligible_applicants,
        "programme": row.programme,
        "instrument": row.instrument,
        "funder": row.funder,
    }


def _points(value: float | None) -> str:
    return "      " if value is None else f"{value:+6.1f}"


def explain(ref: str, profile: Any) -> str:
    """Every contribution to a stored call's score, as lines of text."""
    from fundradar.pipeline import db
    from fundradar.pipeline.review import judged_calls, resolve_call
    from fundradar.pipeline.score import score_call
    from fundradar.pipeline.score.feedback import train

    with db.session_scope() as session:
        row = resolve_call(session, ref)
        call = _call_of(row)
        base = score_call(call, profile)
        model = train(judged_calls(session), profile)
        final, adj = model.adjust(base, call, profile, ref=str(row.id))
        lines = [f"call {row.id} ({row.key}): {row.title}", "", "Rules (points, reason):"]
        lines += [f"  {_points(p)}  {text}" for p, text in base.explained]
        lines += [
            f"  sum of points {base.raw:.1f}; after gates and caps {base.score} ({base.band})",
            "",
            f"Feedback from past verdicts ({plural(adj.verdicts, 'verdict')}, "
            "this call's own left out):",
        ]
        if not adj.active:
            lines.append(f"  off: {adj.note}")
        else:
            if not adj.contributions:
                lines.append("  nothing alike: no funder, programme, theme or call judged before")
            for c in sorted(adj.contributions, key=lambda c: -abs(c.points)):
                lines.append(f"  {_points(c.points)}  {c.kind}: {c.text}")
            bound = profile.config.feedback.max_points
            lines.append(
                f"  total {adj.total:+.1f}; applied {adj.applied:+.1f} (at most {bound:g} either"
                f" way{'; ' + adj.note if adj.note else ''})"
            )
        lines += ["", f"Score {final.score} ({final.band}); stored {row.score} ({row.band})"]
        return "\n".join(lines)


def register(group: click.Group) -> None:
    group.add_command(score_cmd)
