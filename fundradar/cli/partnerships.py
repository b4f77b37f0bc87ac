"""application new|list|show|move|set|partner and partner list|show|add|import|merge|seed.

Thin commands over `pipeline.partnerships`: each opens one session, calls one function and
prints what was stored once it is committed. The author is FUNDRADAR_AUTHOR (else $USER), as
for `review`. Values with a fixed list (stages, kinds) are checked by `cli.choices`: an unknown
one exits 2 listing the valid ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fundradar.cli.common import check_config, echo_err, table, when
from fundradar.wording import plural


def _money(amount: Any, currency: str | None) -> str:
    from fundradar.pipeline.partnerships.applications import money_words

    return "" if amount is None else money_words(amount, currency)


def _cut(text: str | None, n: int = 60) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------ application


@click.group("application")
def application_group() -> None:
    """Applications answering shortlisted calls: stages, owners, amounts, partners."""


@application_group.command("new")
@click.argument("call")
@click.option("--owner", help="Who leads the work on it (a name).")
def application_new(call: str, owner: str | None) -> None:
    """Make an application (stage idea) from a shortlisted CALL (id, key or URL).

    Its internal deadline is 10 days before the funder's (a Saint Lucia date)."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import create_from_call
    from fundradar.pipeline.review import resolve_call

    env = check_config()
    with db.session_scope() as session:
        row = resolve_call(session, call)
        app = create_from_call(session, row.id, author=env.author, owner=owner)
        line = (f"application {app.id}: {app.title}\n  stage idea, internal deadline "
                f"{app.internal_deadline or 'none (the call has no deadline)'}")  # fmt: skip
    click.echo(line)


@application_group.command("list")
@click.option("--stage", "stages", multiple=True, help="Only this stage (repeatable).")
@click.option("--open", "only_open", is_flag=True, help="Only idea, preparing and submitted.")
def application_list(stages: tuple[str, ...], only_open: bool) -> None:
    """Applications, the soonest internal deadline first."""
    from fundradar.cli.choices import check_stages
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import (
        OPEN_STAGES,
        archive_for_deleted_calls,
        list_applications,
    )

    check_stages(stages)
    check_config()
    with db.session_scope() as session:
        archive_for_deleted_calls(session)  # calls deleted outside fundradar
        rows = [
            (a.id, a.stage + (" (archived)" if a.archived_at else ""), a.internal_deadline,
             a.owner, _money(a.amount_requested, a.currency), _cut(a.funder, 24), _cut(a.title))
            for a in list_applications(session, stages=stages or (OPEN_STAGES if only_open else ()))
        ]  # fmt: skip
    if not rows:
        click.echo("no application yet (fundradar application new CALL)")
        return
    click.echo(table(("id", "stage", "internal", "owner", "requested", "funder", "title"), rows))
    echo_err(plural(len(rows), "application"))


@application_group.command("show")
@click.argument("app_id", metavar="ID")
def application_show(app_id: str) -> None:
    """An application, its partners and its history."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import get

    check_config()
    with db.session_scope() as session:
        a = get(session, app_id)
        lines = [
            f"application {a.id}: {a.title}",
            f"  call       {a.call_key or ''}" + (" (deleted: archived)" if a.archived_at else ""),
            f"  funder     {a.funder or ''}",
            f"  stage      {a.stage}",
            f"  owner      {a.owner or ''}",
            f"  internal   {a.internal_deadline or ''}    funder: {when(a.funder_deadline)}",
            f"  requested  {_money(a.amount_requested, a.currency)}",
            f"  awarded    {_money(a.amount_awarded, a.currency)}",
        ]
        lines += [f"  {p.role:<10} {p.organisation.name} (id {p.organisation_id})"
                  for p in a.partners]  # fmt: skip
        lines.append("  history")
        for e in a.events:
            step = f"{e.from_stage or '—'} → {e.to_stage}" if e.to_stage else ""
            text = "  ".join(x for x in (step, e.note or "") if x)
            lines.append(f"    {when(e.at)}  {e.author}: {text}")
    click.echo("\n".join(lines))


@application_group.command("move")
@click.argument("app_id", metavar="ID")
@click.argument("stage")
@click.option("--note", help="Why, or what happened (kept in the history).")
def application_move(app_id: str, stage: str, note: str | None) -> None:
    """Move application ID to STAGE: idea → preparing → submitted → awarded | declined;
    withdrawn from any open stage. A closed application is not reopened."""
    from fundradar.cli.choices import check_stages
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import move

    check_stages([stage], option="STAGE")
    env = check_config()
    with db.session_scope() as session:
        event = move(session, app_id, stage, author=env.author, note=note)
        line = (f"application {event.application_id}: {event.from_stage} → {event.to_stage} "
                f"by {event.author} at {when(event.at)}")  # fmt: skip
    click.echo(line)


@application_group.command("set")
@click.argument("app_id", metavar="ID")
@click.option("--owner")
@click.option("--internal-deadline", help="A date: 2027-01-15.")
@click.option("--amount-requested", help="50000 or 50000.50")
@click.option("--amount-awarded", help="Only once the application is awarded.")
@click.option("--currency", help="ISO 4217: EUR, USD, XCD...")
@click.option("--notes")
def application_set(app_id: str, **given: str | None) -> None:
    """Change an application's owner, internal deadline, amounts, currency or notes
    (an empty value clears one: --owner '')."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import update

    values = {k: v for k, v in given.items() if v is not None}
    if not values:
        raise click.UsageError("nothing to set (see fundradar application set --help)")
    env = check_config()
    with db.session_scope() as session:
        event = update(session, app_id, author=env.author, **values)
        line = f"application {app_id}: " + (event.note if event else "nothing changed")
    click.echo(line)


@application_group.command("partner")
@click.argument("app_id", metavar="ID")
@click.argument("org", metavar="ORG")
@click.option("--lead", is_flag=True, help="As the lead (one per application).")
@click.option("--remove", is_flag=True, help="Take it out of the application.")
def application_partner(app_id: str, org: str, lead: bool, remove: bool) -> None:
    """Add ORG (an id, or a name or acronym from the directory) to application ID as a
    partner or its lead. A name not in the directory yet is added to it."""
    from fundradar.exceptions import PartnerError
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.applications import add_partner, get, remove_partner
    from fundradar.pipeline.partnerships.organisations import find_or_create, resolve

    if lead and remove:
        raise click.UsageError("--lead and --remove do not go together")
    env = check_config()
    with db.session_scope() as session:
        app = get(session, app_id)
        try:
            organisation = resolve(session, org)
            added = False
        except PartnerError:
            if org.strip().isdigit() or remove:
                raise
            organisation = find_or_create(session, org, author=env.author)
            added = True
        if remove:
            remove_partner(session, app.id, organisation.id, author=env.author)
            line = f"application {app.id}: {organisation.name} removed"
        else:
            role = "lead" if lead else "partner"
            add_partner(session, app.id, organisation.id, role=role, author=env.author)
            line = f"application {app.id}: {organisation.name} (id {organisation.id}) is {role}"
            if added:
                line += " (new in the partner directory)"
    click.echo(line)


# ------------------------------------------------------------------------------ partner


@click.group("partner")
def partner_group() -> None:
    """The partner directory: organisations, their calls, applications and past projects."""


@partner_group.command("list")
@click.option("--kind", "kinds", multiple=True, help="Only this kind (repeatable).")
@click.option("--duplicates", is_flag=True, help="Entries that may be one body, and why.")
def partner_list(kinds: tuple[str, ...], duplicates: bool) -> None:
    """Organisations by name (or possible duplicates, to merge)."""
    from fundradar.cli.choices import check_kinds
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import directory, duplicate_candidates

    check_kinds(kinds)
    check_config()
    with db.session_scope() as session:
        if duplicates:
            pairs = [(a.id, _cut(a.name, 40), b.id, _cut(b.name, 40), why)
                     for a, b, why in duplicate_candidates(session)]  # fmt: skip
            if not pairs:
                click.echo("no possible duplicates")
                return
            click.echo(table(("id", "name", "id", "name", "why"), pairs))
            echo_err(
                f"{plural(len(pairs), 'pair')}; merge with: fundradar partner merge KEEP OTHER"
            )
            return
        rows = [(o.id, _cut(o.name, 50), o.acronym, o.kind, o.country, o.origin)
                for o in directory(session, kinds=kinds)]  # fmt: skip
    if not rows:
        click.echo("no organisation yet (fundradar partner seed, add or import)")
        return
    click.echo(table(("id", "name", "acronym", "kind", "country", "origin"), rows))
    echo_err(plural(len(rows), "organisation"))


@partner_group.command("show")
@click.argument("org", metavar="ORG")
def partner_show(org: str) -> None:
    """An organisation (id, name or acronym) with its calls, applications and past projects."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import profile, resolve

    check_config()
    with db.session_scope() as session:
        p = profile(session, resolve(session, org).id)
        o = p.organisation
        lines = [f"{o.name} (id {o.id})" + (f" — {o.acronym}" if o.acronym else ""),
                 f"  kind {o.kind}; country {o.country or '?'}; languages "
                 f"{', '.join(o.languages or []) or '?'}"]  # fmt: skip
        for label, value in (("contact", o.contact), ("website", o.website),
                             ("also known as", "; ".join(o.aliases or []))):  # fmt: skip
            if value:
                lines.append(f"  {label}: {value}")
        lines += [f"  call {c.id} ({role}): {_cut(c.title)}" for c, role in p.calls]
        lines += [f"  application {a.id} ({role}, {a.stage}): {_cut(a.title)}"
                  for a, role in p.applications]  # fmt: skip
        lines += [f"  past project {x.year or ''}: {x.title}" for x in p.past_projects]
        lines += [f"  merged into it: {m.name} (id {m.id})" for m in p.merged]
    click.echo("\n".join(lines))


@partner_group.command("add")
@click.argument("name")
@click.option("--kind", help="government, public_agency, university_research, private, ngo, "
                             "regional_body, other")  # fmt: skip
@click.option("--country", help="Country or territory.")
@click.option("--acronym")
def partner_add(name: str, kind: str | None, country: str | None, acronym: str | None) -> None:
    """Add an organisation; a name already known (folded, acronym, alias) is recorded on that
    entry as an alias instead of making a second one."""
    from fundradar.cli.choices import check_kinds
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import Directory, find_or_create

    if kind:
        check_kinds([kind])
    env = check_config()
    with db.session_scope() as session:
        known = Directory(session).find(name, acronym)
        org = find_or_create(session, name, kind=kind, country=country, acronym=acronym,
                             author=env.author)  # fmt: skip
        line = (f"already known as {org.name} (id {org.id}); {name!r} kept as an alias"
                if known is not None else f"added {org.name} (id {org.id})")  # fmt: skip
    click.echo(line)


@partner_group.command("project")
@click.argument("org", metavar="ORG")
@click.argument("title")
@click.option("--year", help="The year it started, e.g. 2021.")
@click.option("--amount", help="Its budget: 120000 or 120000.50.")
@click.option("--currency", help="ISO 4217: EUR, USD, XCD...")
@click.option("--notes")
def partner_project(org: str, title: str, **given: str | None) -> None:
    """Record a past joint project with ORG (id, name or acronym)."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import add_past_project, resolve

    check_config()
    with db.session_scope() as session:
        organisation = resolve(session, org)
        project = add_past_project(session, organisation.id, title, **given)
        line = f"past project {project.id} with {organisation.name}: {project.title}"
    click.echo(line)


@partner_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_context
def partner_import_cmd(ctx: click.Context, file: Path) -> None:
    """Import organisations from a CSV (columns name, acronym, kind, country, languages,
    contact, website, notes; comma or semicolon, as Excel saves it). Bad rows are listed with
    their line and reason, good rows are stored. Exit 1 when some rows were refused."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.partner_import import import_csv

    env = check_config()
    with db.session_scope() as session:
        report = import_csv(session, file, author=env.author)
    for problem in report.refused:
        echo_err(f"refused {problem}")
    click.echo(f"{file}: {report.summary()}")
    ctx.exit(1 if report.refused else 0)


@partner_group.command("merge")
@click.argument("keep", metavar="KEEP")
@click.argument("other", metavar="OTHER")
def partner_merge(keep: str, other: str) -> None:
    """Merge OTHER into KEEP (ids or names): links, applications, past projects and names
    move to KEEP; KEEP only gains what it lacks; OTHER stays, pointing at KEEP."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import get_organisation, merge, resolve

    env = check_config()
    with db.session_scope() as session:
        a = resolve(session, keep)
        b = get_organisation(session, other) if other.strip().isdigit() else resolve(session, other)
        survivor = merge(session, a.id, b.id, author=env.author)
        line = f"merged {b.name} (id {b.id}) into {survivor.name} (id {survivor.id})"
    click.echo(line)


@partner_group.command("seed")
def partner_seed() -> None:
    """Enter the stored calls' funders and programme operators in the directory (again: only
    what is new)."""
    from fundradar.pipeline import db
    from fundradar.pipeline.partnerships.organisations import directory, seed_from_calls

    env = check_config()
    with db.session_scope() as session:
        before = len(directory(session))
        links = seed_from_calls(session, author=env.author)
        after = len(directory(session))
    click.echo(f"{plural(after - before, 'new organisation')}, {plural(links, 'new call link')}")


def register(group: click.Group) -> None:
    group.add_command(application_group)
    group.add_command(partner_group)
