"""The theme and source ids a filter may name, and the check that refuses any other.

`--theme oceans` (the id is `ocean`) used to select nothing and exit 0 with an empty export,
which reads as "no such calls". An unknown id is now a usage error (exit 2) that lists the
valid ones. Valid = the configured ids (priorities.yaml themes, sources.yaml sources) plus any
id already stored on a call (a source since removed from the config still has its calls).
"""

from __future__ import annotations

from collections.abc import Iterable

import click


def theme_ids() -> list[str]:
    """Themes of the scorer's profile and themes stored on calls, sorted."""
    from fundradar.pipeline import db
    from fundradar.pipeline.exports.query import known_values
    from fundradar.pipeline.score import load_profile
    from fundradar.settings import load

    ids = set(load_profile(load().config_dir / "priorities.yaml").themes)
    with db.session_scope() as session:
        ids.update(known_values(session)["themes"])
    return sorted(ids)


def source_ids() -> list[str]:
    """Sources of sources.yaml and sources stored on calls or sightings, sorted."""
    from fundradar.config.loader import load_sources
    from fundradar.pipeline import db
    from fundradar.pipeline.exports.query import known_values

    ids = {s.id for s in load_sources().sources}
    with db.session_scope() as session:
        ids.update(known_values(session)["sources"])
    return sorted(ids)


def refuse_unknown(option: str, given: Iterable[str], valid: Iterable[str]) -> None:
    """click.BadParameter (exit 2) naming the unknown values and listing the valid ones."""
    known = list(valid)
    unknown = [v for v in given if v not in set(known)]
    if unknown:
        raise click.BadParameter(
            f"unknown {', '.join(map(repr, unknown))}; valid: {', '.join(known)}",
            param_hint=option,
        )


def check_filters(themes: Iterable[str], sources: Iterable[str]) -> None:
    """Refuse unknown `--theme` and `--source` values (reads the config and the database only
    when one was given)."""
    themes, sources = list(themes), list(sources)
    if themes:
        refuse_unknown("--theme", themes, theme_ids())
    if sources:
        refuse_unknown("--source", sources, source_ids())


def check_stages(given: Iterable[str], option: str = "--stage") -> None:
    """Refuse an application stage that is not one of the workflow's (exit 2, valid listed)."""
    from fundradar.pipeline.models import APPLICATION_STAGES

    refuse_unknown(option, [s.strip().lower() for s in given], APPLICATION_STAGES)


def check_kinds(given: Iterable[str], option: str = "--kind") -> None:
    """Refuse an organisation kind the directory does not know (exit 2, valid listed); the
    forms an officer types ("public agency", "NGO") are accepted."""
    from fundradar.exceptions import PartnerError
    from fundradar.pipeline.models import ORGANISATION_KINDS
    from fundradar.pipeline.partnerships.organisations import check_kind

    for kind in given:
        try:
            check_kind(kind)
        except PartnerError:
            refuse_unknown(option, [kind], ORGANISATION_KINDS)
