"""The same call on the funder's site and on an aggregator that links to it is one call: the
aggregator's outbound link (kept as `Call.extra["links_to"]` by the spider) is the strongest
evidence, in either order of arrival; it never overrides a different year or round.

End to end on the real spiders and item pipelines: the AFD spider on its fixture pages and the
Karib Horizon spider on tests/fixtures/dedupe/karib-horizon-coreom.json (reconstructed — not a
capture: a WordPress post copying CORÉOM 2027 with a link to the AFD page)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scrapy import Request
from sqlalchemy import func, select

from fundradar.crawlers.spiders.afd import AfdSpider
from fundradar.crawlers.spiders.karib_horizon import KaribHorizonSpider
from fundradar.pipeline import store
from fundradar.pipeline.dedupe import find_match, record_links
from fundradar.pipeline.dedupe.links import outbound_links
from fundradar.pipeline.dedupe.match import same_call
from fundradar.pipeline.models import CallRow, Sighting
from fundradar.pipeline.normalise import normalise
from fundradar.pipeline.record import Call
from tests.conftest import file_response, make_spider
from tests.pipeline_harness import run_pipelines
from tests.spider_harness import offline_crawl

AFD_COREOM = "https://www.afd.fr/fr/appels-a-projets/coreom-2027-cooperation-regionale-outre-mer"
KH = "https://www.karib-horizon.org"
KH_API = KH + "/wp-json/wp/v2/appel-projet?per_page=20"
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_outbound_links_keep_only_pages_of_other_sites() -> None:
    html = (
        '<p><a href="https://www.afd.fr/fr/x?utm_source=kh&id=3#form">AFD</a>'
        '<a href="/appel-projet/autre/">ours</a><a href="https://karib-horizon.org/y">ours too</a>'
        '<a href="mailto:a@afd.fr">mail</a><a href="javascript:alert(1)">js</a>'
        '<a href="https://www.facebook.com/sharer/sharer.php?u=x">share</a>'
        '<a href="https://www.afd.fr/fr/x?id=3">AFD again</a>'
        '<a href="http://www.interreg-caraibes.com/ami-3">Interreg</a></p>'
    )
    assert outbound_links(html, KH + "/appel-projet/coreom/") == [
        "https://www.afd.fr/fr/x?id=3",
        "http://www.interreg-caraibes.com/ami-3",
    ]
    assert outbound_links("plain text, no link", KH) == []
    assert outbound_links("<p><a href='https://a.org/1'>1</a>" * 20, KH, limit=3) == [
        "https://a.org/1"
    ]


def test_only_aggregators_record_their_links() -> None:
    html = '<a href="https://www.afd.fr/fr/x">AFD</a>'
    agg = Call(source="karib_horizon", url=KH + "/a/", title="t", summary=html)
    own = Call(source="afd", url="https://www.afd.fr/fr/y", title="t", summary=html)
    record_links(agg, aggregator=True)
    record_links(own, aggregator=False)  # a funder's page links to its other calls
    assert agg.extra["links_to"] == ["https://www.afd.fr/fr/x"]
    assert "links_to" not in own.extra


def kh_items() -> list[Call]:
    spider = make_spider(KaribHorizonSpider)
    spider.known = {}
    response = file_response("dedupe/karib-horizon-coreom.json", KH_API, request=Request(KH_API))
    return [c for c in spider.parse_api(response, page=1, first=KH_API) if isinstance(c, Call)]


def afd_coreom() -> Call:
    crawl = offline_crawl(AfdSpider, known={})
    return crawl.by_url()[AFD_COREOM]


def test_the_karib_horizon_spider_keeps_the_link_to_the_funder() -> None:
    (item,) = kh_items()
    # canonical: tracking parameters gone, so it equals the AFD page's canonical URL
    assert item.extra["links_to"] == [AFD_COREOM]


def _rows() -> list[CallRow]:
    from fundradar.pipeline import db

    with db.session_scope() as s:
        rows = list(s.scalars(select(CallRow)))
        for r in rows:
            _ = [(x.source, x.match) for x in r.sightings]
            s.expunge(r)
        return rows


@pytest.mark.parametrize("kh_deadline", [True, False], ids=["dated", "undated"])
def test_aggregator_copy_after_the_funder_page_merges(fundradar_home, kh_deadline: bool) -> None:  # type: ignore[no-untyped-def]
    (kh,) = kh_items()
    if not kh_deadline:
        kh.deadline_texts, kh.status_text = [], "ouvert"  # the copy gives no deadline
    afd = run_pipelines(AfdSpider, [afd_coreom()])
    assert len(afd.stored) == 1
    agg = run_pipelines(KaribHorizonSpider, [kh])
    assert len(agg.stored) == 1, agg.dropped
    (row,) = _rows()
    assert row.source == "afd" and row.title.startswith("CORÉOM 2027")
    assert {(s.source, s.match) for s in row.sightings} == {
        ("afd", "new"),
        ("karib_horizon", "link"),
    }


def test_funder_page_after_the_aggregator_copy_merges(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    run_pipelines(KaribHorizonSpider, kh_items())
    run_pipelines(AfdSpider, [afd_coreom()])
    (row,) = _rows()
    assert {s.source for s in row.sightings} == {"afd", "karib_horizon"}
    assert next(s.match for s in row.sightings if s.source == "afd") == "link"


def test_without_the_link_the_two_titles_alone_do_not_merge(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    """The evidence really is the link: the same copy without it stays apart (the titles share
    too little), which is what users saw before."""
    (kh,) = kh_items()
    kh.extra.pop("links_to")
    run_pipelines(AfdSpider, [afd_coreom()])
    run_pipelines(KaribHorizonSpider, [kh])
    assert len(_rows()) == 2


def call(**kw) -> Call:  # type: ignore[no-untyped-def]
    base = {"source": "afd", "url": "https://www.afd.fr/fr/appels-a-projets/coreom-2026",
            "funder": "AFD", "title": "CORÉOM 2026 – Coopération régionale des associations",
            "deadline_texts": ["16 janvier 2026"], "language": "fr"}  # fmt: skip
    base.update(kw)
    return normalise(Call(**base), now=NOW)


def test_a_link_to_last_years_page_is_not_this_years_call(session) -> None:  # type: ignore[no-untyped-def]
    old = store.upsert(session, call(), now=NOW).row
    session.flush()
    copy = call(source="karib_horizon", funder="Karib Horizon",
                url=KH + "/appel-projet/coreom-2027/", title="CORÉOM 2027 : appel à projets",
                deadline_texts=["15 janvier 2027"])  # fmt: skip
    copy.extra["links_to"] = [old.canonical_url]  # "see last year's winners"
    assert find_match(session, copy) is None
    copy.title = "CORÉOM : appel à projets pour les associations"
    match = find_match(session, copy)
    assert match is not None and (match.row.id, match.how) == (old.id, "link")


def test_a_funder_page_never_matches_by_its_own_links(session) -> None:  # type: ignore[no-untyped-def]
    fisong = call(url="https://www.afd.fr/fr/fisong", title="FISONG 2026")
    other = store.upsert(session, fisong, now=NOW).row
    session.flush()
    page = call(url="https://www.afd.fr/fr/osc", title="Initiatives OSC 2026")
    page.extra["links_to"] = [other.canonical_url]  # "voir aussi FISONG"
    assert find_match(session, page) is None


def test_link_lookup_uses_indexes(session) -> None:  # type: ignore[no-untyped-def]
    """No full-table scan: the link stage reads calls and sightings by canonical URL index."""
    from fundradar.pipeline.dedupe import _BY_LINK

    conn = session.connection()
    stmt = _BY_LINK.params(links=["https://a.org/x"], links_too=["https://a.org/x"])
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "sqlite":
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
        details = " | ".join(str(r[-1]) for r in plan)
        assert "SCAN calls" not in details and "SCAN sightings" not in details, details
        assert "INDEX" in details, details
    else:
        # PostgreSQL scans an empty table whatever its indexes: forbid scans to see that an
        # index serves each side of the query
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = conn.exec_driver_sql("EXPLAIN " + sql).all()
        details = " | ".join(str(r[0]) for r in plan)
        assert "Seq Scan" not in details, details
        assert "ix_calls_canonical_url" in details and "ix_sightings_canonical_url" in details, (
            details
        )


def test_judge_reads_links_both_ways() -> None:
    funder = {"source": "afd", "url": AFD_COREOM, "title": "CORÉOM 2027 – Coopération régionale",
              "funder": "AFD", "deadlines": ["2027-01-15"]}  # fmt: skip
    copy = {"source": "karib_horizon", "url": KH + "/appel-projet/x/", "title": "Associations "
            "ultramarines : appel CORÉOM", "links": [AFD_COREOM + "/"]}  # fmt: skip
    assert same_call(funder, copy) == (True, "the aggregator's copy links to this page")
    assert same_call(copy, funder)[0]
    assert not same_call(funder, dict(copy, links=[]))[0]


def test_rows_are_counted_once(fundradar_home) -> None:  # type: ignore[no-untyped-def]
    run_pipelines(AfdSpider, [afd_coreom()])
    run_pipelines(KaribHorizonSpider, kh_items())
    from fundradar.pipeline import db

    with db.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(CallRow)) == 1
        assert s.scalar(select(func.count()).select_from(Sighting)) == 2


def test_a_post_linking_to_several_calls_goes_to_the_one_it_copies(session) -> None:  # type: ignore[no-untyped-def]
    fisong = store.upsert(session, call(url="https://www.afd.fr/fr/fisong", title="FISONG 2026 "
                                        "– Économie bleue inclusive"), now=NOW).row  # fmt: skip
    coreom = store.upsert(session, call(), now=NOW).row
    session.flush()
    copy = call(source="karib_horizon", funder="Karib Horizon", url=KH + "/appel-projet/c/",
                title="CORÉOM 2026 : coopération régionale des associations ultramarines",
                deadline_texts=[])  # fmt: skip
    copy.extra["links_to"] = [fisong.canonical_url, coreom.canonical_url]  # "voir aussi FISONG"
    match = find_match(session, copy)
    assert match is not None and (match.row.id, match.how) == (coreom.id, "link")
