"""themes: the theme ids `--theme` and the review page accept, with their labels."""

from __future__ import annotations

import click

from fundradar.cli.common import check_config, table


@click.command("themes")
def themes_cmd() -> None:
    """Every theme id with its label and weight (priorities.yaml), and how many stored calls
    carry it; ids found only on stored calls are listed too, marked "(not in the profile)"."""
    from collections import Counter

    from sqlalchemy import select

    from fundradar.pipeline import db
    from fundradar.pipeline.exports.query import BATCH
    from fundradar.pipeline.models import CallRow
    from fundradar.pipeline.score import load_profile

    env = check_config()
    profile = load_profile(env.config_dir / "priorities.yaml")
    counts: Counter[str] = Counter()
    with db.session_scope() as session:
        for row in session.execute(select(CallRow.themes).execution_options(yield_per=BATCH)):
            counts.update({t for t in (row.themes or ()) if isinstance(t, str)})
    rows = [(t.id, t.label, f"{t.weight:g}", counts.get(t.id, 0)) for t in profile.themes.values()]
    rows += [(t, "(not in the profile)", "", n) for t, n in sorted(counts.items())
             if t not in profile.themes]  # fmt: skip
    click.echo(table(("id", "label", "weight", "calls"), rows))


def register(group: click.Group) -> None:
    group.add_command(themes_cmd)
