"""`fundradar`: the operator's single entry point.

Each command group lives in its own module under `fundradar/cli/` with a `register(group)`
function; this module only assembles them and turns fundradar's own errors into one readable
line and an exit code (never a traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sqlite3
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from fundradar import __version__
from fundradar.exceptions import FundradarError

# Order = order in `fundradar --help`.
COMMAND_MODULES = (
    "core",  # init, crawl, run, score, demo
    "score",  # score [FILE] | score --explain CALL (replaces core's score)
    "sources",  # sources list | check | record
    "themes",  # themes
    "importer",  # import FILE.jsonl
    "review",  # review CALL verdict
    "partnerships",  # application new|list|show|move|set|partner; partner list|add|import|...
    "exports",  # export csv|ics|atom|json
    "digest",  # digest preview | send
    "subscriptions",  # subscriptions list | add | remove | links
    "schedule",  # schedule
    "serve",  # serve
    "scrapyd",  # scrapyd deploy
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="fundradar")
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
def cli(verbose: bool) -> None:
    """Funding calls that matter to the OECS Commission: crawled, scored, mailed weekly.

    Data lives in $FUNDRADAR_HOME (default ~/.local/share/fundradar); configuration in
    $FUNDRADAR_CONFIG (default: the packaged config/ folder). See README.md.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        module_name = f"fundradar.cli.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue  # a command group not built yet
        importlib.import_module(module_name).register(cli)


_load_commands()


def main(argv: list[str] | None = None) -> None:
    try:
        # standalone_mode=False so our errors reach the handlers below; click then returns a
        # command's exit code (ctx.exit(n)) instead of exiting itself
        code = cli.main(args=argv, prog_name="fundradar", standalone_mode=False)
    except FundradarError as exc:
        click.echo(f"fundradar: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("fundradar: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except (SQLAlchemyError, sqlite3.Error) as exc:  # locked, disk full, a table gone
        from fundradar.pipeline.db import describe

        where = _save_traceback()
        click.echo(f"fundradar: database error: {describe(exc)} ({where})", err=True)
        sys.exit(3)
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        where = _save_traceback()
        click.echo(f"fundradar: unexpected error: {type(exc).__name__}: {exc} ({where})", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _save_traceback() -> str:
    import traceback
    from datetime import datetime

    try:
        from fundradar import settings

        logs = settings.load().logs
        logs.mkdir(parents=True, exist_ok=True)
        path = logs / f"error-{datetime.now():%Y%m%dT%H%M%S}.log"
        path.write_text(traceback.format_exc(), encoding="utf-8")
        return f"traceback saved in {path}"
    except Exception:
        return "the traceback could not be saved"


if __name__ == "__main__":
    main()
