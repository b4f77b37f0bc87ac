"""subscriptions list | add EMAIL | remove EMAIL | links EMAIL: the maintainer's view of who
gets mail (officers manage their own on the review page and through the links in each mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from fundradar.cli.common import check_config, table, when

if TYPE_CHECKING:
    from fundradar.pipeline.models import Subscription


@click.group("subscriptions")
def subscriptions_group() -> None:
    """Who gets the digest and instant alerts (recipients.yaml seeds this list)."""


@subscriptions_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include those who unsubscribed.")
def list_cmd(show_all: bool) -> None:
    """Every subscription: address, frequency, filters, channel (its secret hidden), state."""
    from sqlalchemy import select

    from fundradar.alerts import subscriptions as subs
    from fundradar.config.loader import load_recipients
    from fundradar.pipeline import db
    from fundradar.pipeline.models import Subscription

    env = check_config()
    with db.session_scope() as s:
        subs.seed(s, load_recipients(env.config_dir))  # what the next send will see
        rows = s.scalars(select(Subscription).order_by(Subscription.email)).all()
        shown = [r for r in rows if show_all or r.active]
        lines = [
            (r.email, r.frequency, r.language, _filters(r), subs.redact_channel(r.channel),
             _state(r), r.created_by)
            for r in shown
        ]  # fmt: skip
    if not lines:
        click.echo("no subscriptions" + ("" if show_all else " (--all shows unsubscribed)"))
        return
    headers = ("email", "frequency", "lang", "filters", "channel", "state", "made by")
    click.echo(table(headers, lines))
    left = len(rows) - len(shown)
    if left:
        click.echo(f"{left} unsubscribed not shown (--all)")


def _filters(r: Subscription) -> str:
    parts = [f"band>={r.min_band}"]
    for name in ("themes", "sources"):
        values = getattr(r, name) or []
        if values:
            parts.append(f"{name}={','.join(values)}")
    if r.words:
        parts.append(f"words={r.words!r}")
    if r.call_language:
        parts.append(f"calls in {r.call_language}")
    return " ".join(parts)


def _state(r: Subscription) -> str:
    if r.active:
        return "active" + (" (recipients.yaml)" if r.managed_by == "yaml" else "")
    if r.unsubscribed_at:
        return f"unsubscribed {when(r.unsubscribed_at)}"
    return "stopped (removed from recipients.yaml)"


@subscriptions_group.command("add")
@click.argument("email")
@click.option("--name")
@click.option("--language", type=click.Choice(["en", "fr"]), default="en", show_default=True)
@click.option("--band", "min_band", type=click.Choice(["high", "medium", "low", "none"]),
              default="medium", show_default=True, help="The lowest band wanted.")  # fmt: skip
@click.option("--theme", "themes", multiple=True, help="A theme id (repeat); none: every theme.")
@click.option("--source", "sources", multiple=True, help="A source id (repeat); none: all.")
@click.option("--words", help="Words every call must contain (as the review page's search).")
@click.option("--call-language", type=click.Choice(["en", "fr", "es"]))
@click.option("--frequency", type=click.Choice(["weekly", "instant"]), default="weekly",
              show_default=True)  # fmt: skip
@click.option("--channel", help="An Apprise URL for instant alerts (msteams://, slack://...).")
def add_cmd(email: str, channel: str | None, **filters: object) -> None:
    """Subscribe EMAIL (or subscribe again someone who unsubscribed)."""
    from fundradar.alerts import subscriptions as subs
    from fundradar.pipeline import db

    env = check_config()
    filters["themes"] = list(filters["themes"])  # type: ignore[arg-type]
    filters["sources"] = list(filters["sources"])  # type: ignore[arg-type]
    with db.session_scope() as s:
        sub = subs.subscribe(s, email=email, created_by=f"cli ({env.author})", channel=channel,
                             **filters)  # fmt: skip
        click.echo(f"subscribed {sub.email} ({sub.frequency}): {_filters(sub)}")


@subscriptions_group.command("remove")
@click.argument("email")
def remove_cmd(email: str) -> None:
    """Unsubscribe EMAIL (kept, with her history; `add` subscribes her again)."""
    from fundradar.alerts import subscriptions as subs
    from fundradar.exceptions import SubscriptionError
    from fundradar.pipeline import db

    check_config()
    with db.session_scope() as s:
        sub = subs.find(s, email)
        if sub is None:
            raise SubscriptionError(f"no subscription for {email}")
        changed = subs.unsubscribe(s, sub)
        click.echo(f"unsubscribed {sub.email}" if changed else f"{sub.email} was not subscribed")


@subscriptions_group.command("links")
@click.argument("email")
def links_cmd(email: str) -> None:
    """Print EMAIL's signed edit and unsubscribe links (to send her by hand)."""
    from fundradar.alerts import subscriptions as subs
    from fundradar.exceptions import SubscriptionError
    from fundradar.pipeline import db

    env = check_config()
    with db.session_scope() as s:
        sub = subs.find(s, email)
        if sub is None:
            raise SubscriptionError(f"no subscription for {email}")
        links = subs.links(sub.id, sub.email, env)
    if links is None:
        raise SubscriptionError(
            "no links: set FUNDRADAR_PUBLIC_URL and FUNDRADAR_SECRET_KEY (see README)"
        )
    click.echo(f"edit:        {links.manage}\nunsubscribe: {links.unsubscribe}")


def register(group: click.Group) -> None:
    group.add_command(subscriptions_group)
