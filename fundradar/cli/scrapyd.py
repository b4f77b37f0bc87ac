"""scrapyd deploy: the project egg onto the Scrapyd server crawls run on (crawl_backend)."""

from __future__ import annotations

import click

from fundradar.cli.common import check_config


@click.group("scrapyd")
def scrapyd_group() -> None:
    """The Scrapyd server crawls run on when sources.yaml says `crawl_backend: scrapyd`."""


@scrapyd_group.command("deploy")
@click.option("--url", help="The Scrapyd server (default: sources.yaml `defaults: scrapyd_url`).")
@click.option("--version", "version", help="The version to add (default: the time, a number).")
def deploy_cmd(url: str | None, version: str | None) -> None:
    """Build the project egg, add it to Scrapyd, check it lists every enabled source."""
    from fundradar.config.loader import load_sources
    from fundradar.crawlers.scrapyd_backend import deploy, redact
    from fundradar.exceptions import ConfigError

    check_config()
    defaults = load_sources().defaults
    url = url or defaults.scrapyd_url
    if not url:
        raise ConfigError(
            "sources.yaml", "defaults.scrapyd_url",
            "the Scrapyd server's address (or give --url http://host:6800/)",
        )  # fmt: skip
    done = deploy(url, defaults.scrapyd_project, version)
    click.echo(
        f"deployed {defaults.scrapyd_project} version {done.version} to {redact(url)}: "
        f"{len(done.spiders)} spiders"
    )


def register(cli: click.Group) -> None:
    cli.add_command(scrapyd_group)
