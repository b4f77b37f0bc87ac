"""Render a digest model to HTML and plain text with Jinja2.

Two environments on purpose: the HTML one autoescapes everything (scraped titles, funders and
reasons are hostile until proven otherwise), the text one does not (a plain-text part shows
`<script>` as the harmless characters it is). Both use StrictUndefined so a misspelt variable
fails the test suite instead of leaving a hole in someone's mail.

The HTML follows what renders in Outlook and on a 360 px phone: tables for layout, inline
styles only (no <style>, no external CSS, fonts or images), one column at most 640 px wide,
long words allowed to break.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from fundradar.alerts.compose import DigestModel

TEMPLATES = Path(__file__).resolve().parent / "templates"

# one palette, named for what it means, so the HTML template reads as a design not as hex codes
COLOURS = {
    "page": "#eef1f4",
    "card": "#ffffff",
    "ink": "#1f2933",
    "muted": "#52606d",
    "rule": "#d9e2ec",
    "link": "#0b5cad",
    "accent": "#0b5cad",
    "urgent": "#b42318",
    "change": "#7a4b00",
    "change_bg": "#fff4e0",
    "band_high": "#b42318",
    "band_high_bg": "#fde8e7",
    "band_medium": "#8a5300",
    "band_medium_bg": "#fff1d6",
    "band_low": "#3e4c59",
    "band_low_bg": "#e4e7eb",
    "band_none": "#3e4c59",
    "band_none_bg": "#e4e7eb",
    "ok": "#1d7a3a",
    # the one-click verdict links and the shortlisted badge
    "mark_relevant": "#1d7a3a",
    "mark_not-relevant": "#52606d",
    "mark_shortlist": "#0b5cad",
    "shortlist": "#0b4a8a",
    "shortlist_bg": "#e3eefa",
    "problem": "#b42318",
    # the first lines when the week was not a normal one: sources not checked, sample data
    "warn": "#8f1d14",
    "warn_bg": "#fde8e7",
    "warn_rule": "#b42318",
    "sample": "#6b3d00",
    "sample_bg": "#fff1d6",
    "sample_rule": "#b54708",
}
FONT = "Arial, Helvetica, sans-serif"
MONO = "Consolas, Menlo, 'Courier New', monospace"
_BACKTICKS = re.compile(r"`([^`]+)`")


def code_spans(text: str) -> Markup:
    """Our own words with `commands` in backticks: escaped, the commands set in monospace.

    Only for the digest's own strings (i18n): the text is escaped first, so even a hostile
    string could not add markup; the backticks stay as they are in the plain-text part.
    """
    style = f"font-family:{MONO};font-size:13px;background:{COLOURS['page']};padding:0 3px;"
    escaped = str(escape(text))
    return Markup(_BACKTICKS.sub(lambda m: f'<code style="{style}">{m.group(1)}</code>', escaped))


@lru_cache(maxsize=1)
def _html_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(C=COLOURS, FONT=FONT)
    env.filters["code"] = code_spans
    return env


@lru_cache(maxsize=1)
def _text_env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=False,  # plain text: nothing is interpreted, so nothing to escape
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(model: DigestModel) -> str:
    return _html_env().get_template("digest.html.j2").render(d=model)


def render_text(model: DigestModel) -> str:
    text = _text_env().get_template("digest.txt.j2").render(d=model)
    # no more than one blank line in a row, whatever the sections left behind
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip() + "\n"
