"""fundradar's spiders: one module per source (`<id>.py`, spider name = config id), plus a
generated spider for every config-only source.

A feed, WordPress or HTML source needs a config entry and nothing else (issue 3, point 3). Scrapy's
SpiderLoader only finds spider classes defined in the modules of this package, so this package
module itself creates, at import, one subclass of `FeedSpider` / `WordPressSpider` /
`HtmlListSpider` for each entry of config/sources.yaml whose id has no module here. `scrapy list`,
`scrapy crawl <id>` and `fundradar crawl <id>` then find it like any other spider. The config read
is the one `FUNDRADAR_CONFIG` points at, so a child crawl process sees the same sources as its
parent. API sources always need code (a module), so none is generated for them.
"""

from __future__ import annotations

import warnings
from importlib.resources import files

from fundradar.config.loader import Source, load_sources
from fundradar.crawlers.base import SourceSpider
from fundradar.crawlers.feed import FeedSpider, WordPressSpider
from fundradar.crawlers.html import HtmlListSpider
from fundradar.exceptions import FundradarError

GENERIC_BASES: dict[str, type[SourceSpider]] = {
    "feed": FeedSpider,
    "wordpress": WordPressSpider,
    "html": HtmlListSpider,
}
HERE = files(__name__)  # a folder, or a folder inside the zipped egg of a Scrapyd job


def class_name(source_id: str) -> str:
    return "".join(part.capitalize() for part in source_id.split("_")) + "Spider"


def generic_spider(source: Source) -> type[SourceSpider]:
    """A spider class for a config-only source (its behaviour comes from the config entry)."""
    base = GENERIC_BASES.get(source.kind)
    if base is None:
        raise FundradarError(
            f"source {source.id!r} is of kind {source.kind!r}, which needs a spider module "
            f"crawlers/spiders/{source.id}.py"
        )
    doc = (
        f"{source.funder} — config-only {source.kind} source generated from sources.yaml.\n\n"
        f"Source: {', '.join(source.start_urls)}\n"
        "Caveats: none known; behaviour comes from the config entry alone.\n"
        "Fixture: none bundled unless crawlers/samples/<id>/ exists."
    )

    def load_source(self: SourceSpider) -> Source:
        return source  # the entry this class was made from (same file the crawl reads)

    attrs = {"name": source.id, "__module__": __name__, "__doc__": doc, "load_source": load_source}
    return type(class_name(source.id), (base,), attrs)


def _generate() -> list[str]:
    try:
        sources = load_sources()
    except FundradarError as exc:
        # a broken sources.yaml must not hide the hand-written spiders; commands that crawl
        # report the config error themselves
        warnings.warn(f"config-only spiders not generated: {exc}", stacklevel=2)
        return []
    made = []
    for source in sources.sources:
        if source.kind not in GENERIC_BASES or HERE.joinpath(f"{source.id}.py").is_file():
            continue
        cls = generic_spider(source)
        globals()[cls.__name__] = cls
        made.append(source.id)
    return made


GENERATED = _generate()
