"""serve [--host H] [--port P]."""

from __future__ import annotations

import click

from fundradar.cli.common import check_config


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback FUNDRADAR_WEB_TOKEN is required.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve_cmd(host: str, port: int) -> None:  # fmt: skip
    """The review page and the feeds (/calls.csv, /calls.ics, /calls.atom)."""
    from fundradar.web.server import check_binding, is_loopback, serve

    env = check_config()
    check_binding(host, env.web_token)  # before anything else: refuse early and clearly

    def ready(url: str) -> None:
        click.echo(f"review page on {url}  (Ctrl-C to stop)")
        if env.web_token:
            click.echo("  access token required: open the page with ?token=<FUNDRADAR_WEB_TOKEN>")
        elif is_loopback(host):
            click.echo("  reachable from this machine only")

    try:
        serve(host, port, token=env.web_token, on_ready=ready)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    except KeyboardInterrupt:
        click.echo("stopped")


def register(group: click.Group) -> None:
    group.add_command(serve_cmd)
