"""The partnerships pages with Flask's test client: applications from shortlisted calls, stage,
details and partner forms, the partner directory, duplicates and merge, the dashboard, the
print pages and downloads; CSRF refusals and hostile names.

Calls and organisations are reconstructed — not captures (names imitate real funders and
partners; every value is made up).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fundradar.pipeline import db
from fundradar.pipeline.models import (
    Application,
    ApplicationPartner,
    CallOrganisation,
    Organisation,
    PastProject,
    Verdict,
)
from fundradar.web import create_app
from tests.pipeline.exports.exports_factory import NOW, add_call, add_hostile


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    return create_app(clock=lambda: NOW).test_client()


@pytest.fixture
def calls() -> dict[str, int]:
    with db.session_scope() as s:
        a = add_call(
            s,
            1,
            title="Interreg Caraïbes: greener and more resilient Caribbean",
            funder="Région Guadeloupe",
            themes=["climate", "ocean"],
            deadline=NOW + timedelta(days=40),
        )
        b = add_call(
            s,
            2,
            title="FISONG 2027: inclusive fisheries",
            funder="AFD",
            themes=["ocean"],
            deadline=NOW + timedelta(days=25),
        )
        s.add(Verdict(call_id=a.id, verdict="shortlist", author="officer"))
        s.add(Verdict(call_id=b.id, verdict="relevant", author="officer"))
        return {"shortlisted": a.id, "relevant": b.id}


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    # the session's token from the cheapest page with a form (no charts to draw)
    html = client.get("/partners/new").get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token"
    return m.group(1)


def post(client, path: str, **form: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf(client), **form})


def html_of(client, path: str) -> str:  # type: ignore[no-untyped-def]
    resp = client.get(path)
    assert resp.status_code == 200, (path, resp.status_code)
    return resp.get_data(as_text=True)


def make_application(client, call_id: int) -> int:  # type: ignore[no-untyped-def]
    resp = post(client, f"/calls/{call_id}/application", next="/")
    assert resp.status_code == 303
    m = re.fullmatch(r"/applications/(\d+)", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return int(m.group(1))


def org(name: str, kind: str = "other", country: str | None = None, **kw) -> int:  # type: ignore[no-untyped-def]
    from fundradar.pipeline.partnerships import organisations

    with db.session_scope() as s:
        o = organisations.find_or_create(s, name, kind=kind, country=country, author="t")
        for k, v in kw.items():
            setattr(o, k, v)
        s.flush()
        return o.id


# ------------------------------------------------------------------------------ navigation


@pytest.mark.parametrize("path", ["/", "/dashboard", "/applications", "/partners"])
def test_every_page_links_to_the_others(client, calls, path: str) -> None:  # type: ignore[no-untyped-def]
    html = html_of(client, path)
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.S)
    assert nav is not None
    hrefs = re.findall(r'href="([^"]+)"', nav.group(0))
    assert hrefs == ["/", "/dashboard", "/applications", "/partners"]


# ---------------------------------------------------------------------------- applications


def test_make_application_only_from_a_shortlisted_call(client, calls) -> None:  # type: ignore[no-untyped-def]
    review = html_of(client, "/")
    cards = {
        re.search(r'id="call-(\d+)"', c).group(1): c  # type: ignore[union-attr]
        for c in review.split("<article ")[1:]
    }
    assert "Make an application" in cards[str(calls["shortlisted"])]
    assert "Make an application" not in cards[str(calls["relevant"])]
    assert "Make an application" in html_of(client, f"/calls/{calls['shortlisted']}")

    app_id = make_application(client, calls["shortlisted"])
    page = html_of(client, f"/applications/{app_id}")
    assert "Interreg Caraïbes: greener and more resilient Caribbean" in page
    assert "Région Guadeloupe" in page and ">idea<" in page
    # internal deadline defaults to 10 days before the funder's (40 days away): 30 days left
    assert "(30 days left)" in page
    # the card and the call's page now link to the application instead of the button
    for path in ("/", f"/calls/{calls['shortlisted']}"):
        html = html_of(client, path)
        assert f'href="/applications/{app_id}">Application #{app_id}: idea' in html
    assert "Make an application" not in html_of(client, f"/calls/{calls['shortlisted']}")

    resp = post(client, f"/calls/{calls['relevant']}/application", next="/")
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert "is not shortlisted" in html_of(client, "/")  # flashed, with the reason
    with db.session_scope() as s:
        assert s.scalars(select(Application.call_id)).all() == [calls["shortlisted"]]
    assert post(client, "/calls/99999/application").status_code == 404


def test_stage_changes_are_recorded_with_their_author(client, calls) -> None:  # type: ignore[no-untyped-def]
    post(client, "/reviewer", name="Marie-Claire", next="/")
    app_id = make_application(client, calls["shortlisted"])
    for stage in ("preparing", "submitted"):
        resp = post(client, f"/applications/{app_id}/stage", stage=stage, note=f"now {stage}")
        assert resp.status_code == 303
    page = html_of(client, f"/applications/{app_id}")
    history = re.search(r'<ul class="history">(.*?)</ul>', page, re.S).group(1)  # type: ignore[union-attr]
    items = re.findall(r"<li>(.*?)</li>", history, re.S)
    assert len(items) == 3  # made, preparing, submitted: newest first
    assert "Marie-Claire" in items[0] and "preparing → submitted" in items[0]
    assert "now submitted" in items[0] and "idea → preparing" in items[1]
    assert "Moved to submitted." in page or ">submitted<" in page
    # a step the workflow refuses is flashed, nothing changes
    post(client, f"/applications/{app_id}/stage", stage="idea")
    page = html_of(client, f"/applications/{app_id}")
    assert "cannot go from submitted to idea" in page
    with db.session_scope() as s:
        assert s.get(Application, app_id).stage == "submitted"  # type: ignore[union-attr]


def test_details_form_saves_amounts_deadline_owner_and_notes(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    resp = post(
        client,
        f"/applications/{app_id}/details",
        owner="J. Baptiste",
        internal_deadline="2026-12-20",
        amount_requested="250,000",
        amount_awarded="",
        currency="eur",
        notes="Co-financing from the Region",
    )
    assert resp.status_code == 303
    page = html_of(client, f"/applications/{app_id}")
    assert "Details saved." in page
    assert "EUR 250,000" in page and "J. Baptiste" in page and "Sun 20 Dec 2026" in page
    assert "Co-financing from the Region" in page
    assert "amount requested" in page  # the history says what changed
    with db.session_scope() as s:
        a = s.get(Application, app_id)
        assert a is not None and str(a.amount_requested) == "250000.00" and a.currency == "EUR"
    # bad input: flashed with the field's name, nothing stored
    for field, value, words in (
        ("amount_requested", "lots", "Amount requested"),
        ("internal_deadline", "31/12/2026", "Internal deadline"),
        ("currency", "EU", "currency"),
    ):
        form = {"currency": "EUR", "amount_requested": "250000", field: value}
        post(client, f"/applications/{app_id}/details", **form)
        assert words in html_of(client, f"/applications/{app_id}")
    with db.session_scope() as s:
        a = s.get(Application, app_id)
        assert a is not None and a.internal_deadline.isoformat() == "2026-12-20"  # type: ignore[union-attr]


def test_partners_added_with_a_lead_and_removed(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    cnrs = org(
        "Centre national de la recherche scientifique",
        "university_research",
        "France",
        acronym="CNRS",
    )
    page = html_of(client, f"/applications/{app_id}")
    assert f'<option value="{cnrs}">' in page  # the directory in the menu
    post(client, f"/applications/{app_id}/partners", organisation_id=str(cnrs), role="lead")
    post(
        client,
        f"/applications/{app_id}/partners",
        name="Université des Antilles",
        kind="university_research",
        role="partner",
    )
    page = html_of(client, f"/applications/{app_id}")
    partners = re.search(r'<ul class="partner-list">(.*?)</ul>', page, re.S).group(1)  # type: ignore[union-attr]
    assert re.search(r"role-lead\">lead</span> <a href=\"/partners/\d+\">Centre national", partners)
    assert "Université des Antilles" in partners
    # a second lead is refused with the reason
    post(client, f"/applications/{app_id}/partners", name="OECS Commission", role="lead")
    assert "already has a lead" in html_of(client, f"/applications/{app_id}")
    post(client, f"/applications/{app_id}/partners")  # neither chosen nor typed
    assert "choose a partner" in html_of(client, f"/applications/{app_id}")
    post(client, f"/applications/{app_id}/partners/{cnrs}/remove")
    with db.session_scope() as s:
        left = s.scalars(select(ApplicationPartner.organisation_id)).all()
    assert cnrs not in left and len(left) == 1


def test_applications_list_filters_by_stage(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    assert f'data-application-id="{app_id}"' in html_of(client, "/applications")
    assert f'data-application-id="{app_id}"' in html_of(client, "/applications?stage=idea")
    assert "data-application-id" not in html_of(client, "/applications?stage=awarded")
    assert client.get("/applications?stage=<b>").status_code == 400
    assert client.get("/applications/424242").status_code == 404


# -------------------------------------------------------------------------------- partners


def test_directory_filters_by_kind_territory_and_name(client) -> None:  # type: ignore[no-untyped-def]
    afd = org("Agence française de développement", "public_agency", "France", acronym="AFD")
    uag = org("Université des Antilles", "university_research", "Guadeloupe")
    crm = org("Collectivité territoriale de Martinique", "government", "Martinique")

    def shown(query: str) -> set[int]:
        html = html_of(client, "/partners" + query)
        return {int(x) for x in re.findall(r'<li data-partner-id="(\d+)"', html)}

    assert shown("") == {afd, uag, crm}
    assert shown("?kind=university_research") == {uag}
    assert shown("?country=martinique") == {crm}
    assert shown("?q=afd") == {afd}  # its acronym
    assert shown("?q=UNIVERSITE+DES+antilles") == {uag}  # accents and case folded
    assert shown("?q=%25") == set()  # a LIKE wildcard is a character, not "anything"
    assert shown("?kind=government&country=France") == set()
    assert client.get("/partners?kind=spies").status_code == 400


def test_partner_page_lists_calls_applications_and_past_projects(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    region = org("Région Guadeloupe", "government", "Guadeloupe")
    with db.session_scope() as s:
        if not s.scalars(
            select(CallOrganisation).where(CallOrganisation.organisation_id == region)
        ).first():
            s.add(
                CallOrganisation(
                    call_id=calls["shortlisted"], organisation_id=region, role="funder"
                )
            )
        s.add(
            PastProject(organisation_id=region, title="CARIB-COAST coastal risk network", year=2021)
        )
    post(client, f"/applications/{app_id}/partners", organisation_id=str(region), role="lead")
    page = html_of(client, f"/partners/{region}")
    assert f'href="/calls/{calls["shortlisted"]}">Interreg Caraïbes' in page
    assert f'href="/applications/{app_id}">Interreg Caraïbes' in page and "lead · idea" in page
    assert "CARIB-COAST coastal risk network (2021)" in page
    assert client.get("/partners/999999").status_code == 404


def test_add_partner_form_and_duplicates_merge(client) -> None:  # type: ignore[no-untyped-def]
    assert 'action="/partners"' in html_of(client, "/partners/new")
    resp = post(
        client,
        "/partners",
        name="Agence française de développement",
        kind="public_agency",
        country="France",
    )
    assert resp.status_code == 303
    afd = int(resp.headers["Location"].rsplit("/", 1)[1])
    # the same body typed again, accents and case aside: the existing entry, not a second
    again = post(client, "/partners", name="AGENCE FRANCAISE DE DEVELOPPEMENT")
    assert again.headers["Location"] == f"/partners/{afd}"
    assert "Partner saved" in html_of(client, f"/partners/{afd}")
    bad = post(client, "/partners", name="   ")
    assert bad.headers["Location"] == "/partners/new"
    twin = org("Agence Française de Développement (Paris office)", "public_agency", "France")
    with db.session_scope() as s:
        # stored straight, as an import from another spelling might have: a candidate pair
        s.add(Organisation(name="A.F.D.", name_key="a f d", kind="public_agency"))
    dup = html_of(client, "/partners/duplicates")
    assert 'action="/partners/merge"' in dup
    pairs = re.findall(
        r'name="keep_id" value="(\d+)">\s*<input type="hidden" name="merge_id" '
        r'value="(\d+)"',
        dup,
    )
    assert pairs, dup
    keep, merge = (int(x) for x in pairs[0])
    resp = post(client, "/partners/merge", keep_id=str(keep), merge_id=str(merge))
    assert resp.status_code == 303 and resp.headers["Location"] == f"/partners/{keep}"
    with db.session_scope() as s:
        assert s.get(Organisation, merge).merged_into_id == keep  # type: ignore[union-attr]
    # the merged entry's page leads to the one kept
    assert client.get(f"/partners/{merge}").headers["Location"].endswith(f"/partners/{keep}")
    # merging it again is refused with the reason, not a server error
    again = post(client, "/partners/merge", keep_id=str(keep), merge_id=str(merge))
    assert again.status_code == 303 and again.headers["Location"] == "/partners/duplicates"
    assert post(client, "/partners/merge", keep_id="x", merge_id="1").status_code == 400
    assert twin


# ------------------------------------------------------------------------------- dashboard


def test_dashboard_empty(client) -> None:  # type: ignore[no-untyped-def]
    html = html_of(client, "/dashboard")
    assert "No application yet" in html and "No partner yet." in html
    assert "No deadline in the next 90 days." in html


def test_dashboard_shows_funnel_amounts_deadlines_partners_and_weeks(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    post(client, f"/applications/{app_id}/details", amount_requested="250000", currency="EUR")
    post(client, f"/applications/{app_id}/stage", stage="preparing")
    org("Université des Antilles", "university_research", "Guadeloupe")
    html = html_of(client, "/dashboard")
    assert html.count("<svg") == 14  # seven charts, each for phones and desktops
    funnel = re.search(r'aria-label="(Applications by stage[^"]*)"', html).group(1)  # type: ignore[union-attr]
    assert "idea: 0; preparing: 1; submitted: 0" in funnel
    assert "Région Guadeloupe · EUR: 250 k requested" in html
    assert "climate · EUR: 250 k requested" in html  # by theme
    assert "university or research: 1" in html and "Guadeloupe: 1" in html
    # upcoming: the internal deadline (30 days) before the funder's (40 days)
    upcoming = re.search(r'<ul class="deadline-list">(.*?)</ul>', html, re.S).group(1)  # type: ignore[union-attr]
    assert upcoming.index("in 30 days") < upcoming.index("in 40 days")
    assert "Internal deadline · preparing" in upcoming
    assert "week of 23 Nov: 2 found, 0 relevant" not in html  # shortlist counts as relevant
    assert "week of 23 Nov: 2 found, 2 relevant" in html


# ------------------------------------------------------------------------------ print pages


def test_print_pages_one_call_and_one_partner(client, calls) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    cnrs = org("CNRS", "university_research", "France")
    post(client, f"/applications/{app_id}/partners", organisation_id=str(cnrs), role="lead")
    page = html_of(client, f"/calls/{calls['shortlisted']}/print")
    assert '<body class="print-page">' in page and "site-nav" not in page and "<form" not in page
    assert "Interreg Caraïbes" in page and "CNRS (lead)" in page
    assert "Notes from the meeting" in page
    partner = html_of(client, f"/partners/{cnrs}/print")
    assert "CNRS" in partner and "lead · idea" in partner and "<form" not in partner
    assert f'href="/calls/{calls["shortlisted"]}/print"' in html_of(
        client, f"/calls/{calls['shortlisted']}"
    )
    assert f'href="/partners/{cnrs}/print"' in html_of(client, f"/partners/{cnrs}")
    assert client.get("/calls/99999/print").status_code == 404


# ---------------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/calls/{call}/application", {}),
        ("/applications/{app}/stage", {"stage": "preparing"}),
        ("/applications/{app}/details", {"owner": "x"}),
        ("/applications/{app}/partners", {"name": "Evil Corp"}),
        ("/applications/{app}/partners/{org}/remove", {}),
        ("/partners", {"name": "Evil Corp"}),
        ("/partners/merge", {"keep_id": "{org}", "merge_id": "{org}"}),
        ("/partners/{org}/projects", {"title": "Evil project"}),
    ],
)
def test_forms_without_the_csrf_token_are_refused(client, calls, path: str, form: dict) -> None:  # type: ignore[no-untyped-def]
    app_id = make_application(client, calls["shortlisted"])
    org_id = org("CNRS", "university_research", "France")
    ids = {"call": calls["shortlisted"], "app": app_id, "org": org_id}
    url = path.format(**ids)
    data = {k: v.format(**ids) for k, v in form.items()}
    with db.session_scope() as s:
        before = (
            s.scalars(select(Application)).all().__len__(),
            len(s.scalars(select(Organisation)).all()),
        )
    assert client.post(url, data=data).status_code == 403
    assert client.post(url, data={**data, "csrf_token": "forged"}).status_code == 403
    # a right token from another site is refused too
    token = csrf(client)
    cross = client.post(
        url, data={**data, "csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    with db.session_scope() as s:
        after = (
            len(s.scalars(select(Application)).all()),
            len(s.scalars(select(Organisation)).all()),
        )
        assert s.get(Application, app_id).stage == "idea"  # type: ignore[union-attr]
    assert after == before


def test_hostile_names_are_escaped_on_every_page(client) -> None:  # type: ignore[no-untyped-def]
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with db.session_scope() as s:
        call = add_hostile(s, funder=evil)
        s.add(Verdict(call_id=call.id, verdict="shortlist", author="t"))
        call_id = call.id
    app_id = make_application(client, call_id)
    org_id = org(
        evil + " Foundation", "ngo", evil, website="javascript:alert(1)", contact=evil, notes=evil
    )
    post(client, f"/applications/{app_id}/partners", organisation_id=str(org_id), role="lead")
    post(client, f"/applications/{app_id}/details", notes=evil, owner=evil)
    pages = [
        "/dashboard",
        "/applications",
        f"/applications/{app_id}",
        "/partners",
        f"/partners/{org_id}",
        f"/partners/{org_id}/print",
        f"/calls/{call_id}/print",
        "/partners/duplicates",
    ]
    for path in pages:
        html = html_of(client, path)
        assert "<script" not in html and "<img src=x" not in html, path
        assert "javascript:" not in html, path
        hrefs = re.findall(r'href="([^"]+)"', html)
        assert all(h.startswith(("/", "http://", "https://")) for h in hrefs), (path, hrefs)
    page = html_of(client, f"/partners/{org_id}")
    assert "&lt;script&gt;" in page and "link withheld" in page


# ------------------------------------------------------------------------------- downloads


def test_downloads_workbook_and_csvs(client, calls) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    import openpyxl

    app_id = make_application(client, calls["shortlisted"])
    post(client, f"/applications/{app_id}/details", amount_requested="1000.5", currency="EUR")
    org("CNRS", "university_research", "France")
    for path in ("/dashboard", "/applications", "/partners"):
        assert 'href="/partnerships.xlsx"' in html_of(client, path)
    resp = client.get("/partnerships.xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    assert 'filename="partnerships.xlsx"' in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == ["Applications", "Partners", "Relevant calls"]
    header = [c.value for c in book["Applications"][1]]
    row = dict(
        zip(header, next(book["Applications"].iter_rows(min_row=2, values_only=True)), strict=True)
    )
    assert row["id"] == app_id and row["amount requested"] == 1000.5
    resp = client.get("/applications.csv")
    assert resp.content_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(r["id"], r["stage"], r["amount requested"]) for r in rows] == [
        (str(app_id), "idea", "1000.50")
    ]
    partners = client.get("/partners.csv").get_data(as_text=True)
    assert "CNRS" in partners and "Région Guadeloupe" in partners  # the call's funder, seeded
    relevant = client.get("/relevant-calls.csv")
    assert relevant.status_code == 200 and "Interreg Caraïbes" in relevant.get_data(as_text=True)


def test_add_partner_with_details_fills_only_what_an_entry_lacks(client) -> None:  # type: ignore[no-untyped-def]
    resp = post(
        client,
        "/partners",
        name="Institut Pasteur de la Guadeloupe",
        acronym="IPG",
        kind="university_research",
        country="Guadeloupe",
        languages="fr, en",
        contact="secretariat@example.org",
        website="www.pasteur-guadeloupe.example",
        notes="Vector-borne disease lab",
    )
    org_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    page = html_of(client, f"/partners/{org_id}")
    assert 'href="https://www.pasteur-guadeloupe.example"' in page
    assert "fr, en" in page and "secretariat@example.org" in page and "IPG" in page
    # the same body again, by its acronym: its contact kept, a missing field not invented
    again = post(client, "/partners", name="IPG", contact="someone-else@example.org")
    assert again.headers["Location"] == f"/partners/{org_id}"
    with db.session_scope() as s:
        o = s.get(Organisation, org_id)
        assert o is not None and o.contact == "secretariat@example.org"
    for field, value, words in (
        ("website", "javascript:alert(1)", "not an http(s) link"),
        ("languages", "french!", "not a language code"),
    ):
        bad = post(client, "/partners", name="Somebody new", **{field: value})
        assert bad.headers["Location"] == "/partners/new"
        assert words in html_of(client, "/partners/new")
    with db.session_scope() as s:
        assert (
            s.scalars(select(Organisation.name).where(Organisation.name == "Somebody new")).all()
            == []
        )


def test_csv_import_reports_bad_rows_by_line_and_stores_the_good(client) -> None:  # type: ignore[no-untyped-def]
    import io

    org("Agence française de développement", "public_agency", "France")
    text = (
        "name;kind;country;website\r\n"
        "Université des Antilles;university_research;Guadeloupe;https://www.univ-antilles.fr\r\n"
        "Fondation <b>X</b>;charity;France;\r\n"
        "AFD;public_agency;France;\r\n"
        ";ngo;Dominica;\r\n"
        "Bad Link Ltd;private;Saint Lucia;javascript:alert(1)\r\n"
    ).encode("cp1252")
    resp = client.post(
        "/partners/import",
        data={
            "csrf_token": csrf(client),
            "file": (io.BytesIO(text), "partenaires.csv"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "1 new, 1 merged into existing entries, 3 refused" in html
    refused = re.findall(r"<li>(line \d+[^<]*)</li>", html)
    assert [r.split(":")[0] for r in refused] == [
        "line 3 (Fondation &lt;b&gt;X&lt;/b&gt;)",
        "line 5",
        "line 6 (Bad Link Ltd)",
    ]
    assert "unknown kind" in refused[0] and "<b>X</b>" not in html
    with db.session_scope() as s:
        names = set(s.scalars(select(Organisation.name)))
    assert "Université des Antilles" in names and "Bad Link Ltd" not in names
    # nothing stored at all: a 400 with the reasons
    only_bad = client.post(
        "/partners/import",
        data={
            "csrf_token": csrf(client),
            "file": (io.BytesIO(b"name,kind\nX,spies\n"), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert only_bad.status_code == 400 and "line 2 (X)" in only_bad.get_data(as_text=True)
    no_name = client.post(
        "/partners/import",
        data={
            "csrf_token": csrf(client),
            "file": (io.BytesIO(b"title\nX\n"), "x.csv"),
        },
        content_type="multipart/form-data",
    )
    assert no_name.status_code == 303
    assert "no &#39;name&#39; column" in html_of(client, "/partners")
    forged = client.post(
        "/partners/import",
        data={"file": (io.BytesIO(text), "p.csv")},
        content_type="multipart/form-data",
    )
    assert forged.status_code == 403


def test_an_application_outlives_its_deleted_call(client, calls) -> None:  # type: ignore[no-untyped-def]
    from fundradar.pipeline.models import CallRow

    app_id = make_application(client, calls["shortlisted"])
    post(client, f"/applications/{app_id}/details", amount_requested="5000", currency="EUR")
    with db.session_scope() as s:
        s.delete(s.get(CallRow, calls["shortlisted"]))
    page = html_of(client, f"/applications/{app_id}")
    assert "archived: the call was deleted" in page
    assert "Interreg Caraïbes: greener and more resilient Caribbean" in page  # its copied title
    assert f'href="/calls/{calls["shortlisted"]}' not in page  # no link to a call that is gone
    dash = html_of(client, "/dashboard")
    assert "idea: 1" in dash and "Région Guadeloupe · EUR: 5 k requested" in dash


def test_past_projects_added_on_the_partner_page(client) -> None:  # type: ignore[no-untyped-def]
    cnrs = org("CNRS", "university_research", "France")
    assert f'action="/partners/{cnrs}/projects"' in html_of(client, f"/partners/{cnrs}")
    resp = post(
        client,
        f"/partners/{cnrs}/projects",
        title="CARIB-COAST",
        year="2019",
        amount="120000",
        currency="eur",
    )
    assert resp.status_code == 303 and resp.headers["Location"] == f"/partners/{cnrs}"
    page = html_of(client, f"/partners/{cnrs}")
    assert "CARIB-COAST (2019) · EUR 120,000" in page
    post(client, f"/partners/{cnrs}/projects", title="Undated", year="last year")
    assert "is not a year" in html_of(client, f"/partners/{cnrs}")
    with db.session_scope() as s:
        assert s.scalars(select(PastProject.title)).all() == ["CARIB-COAST"]
    assert post(client, "/partners/999999/projects", title="x").status_code == 404


def test_a_large_partners_csv_is_accepted_and_a_too_large_one_is_told_why(client) -> None:  # type: ignore[no-untyped-def]
    """A few thousand rows (well over the 64 KB a verdict form may send) import; a file over
    the upload limit gets a page naming the limit and the command line instead."""
    import io

    from fundradar.web.app import MAX_UPLOAD

    rows = "".join(f"Université partenaire numéro {n},university_research,France\n"
                   for n in range(2500))  # fmt: skip
    body = ("name,kind,country\n" + rows).encode("utf-8")
    assert 64 * 1024 < len(body) < MAX_UPLOAD
    ok = client.post(
        "/partners/import", content_type="multipart/form-data",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(body), "big.csv")},
    )  # fmt: skip
    assert ok.status_code == 200, ok.get_data(as_text=True)[:300]
    assert "2500 new" in ok.get_data(as_text=True)
    huge = client.post(
        "/partners/import", content_type="multipart/form-data",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(b"x" * (MAX_UPLOAD + 1)), "h.csv")},
    )  # fmt: skip
    assert huge.status_code == 413
    assert "partner import FILE" in huge.get_data(as_text=True)
    # a text field cannot be large, whatever the upload limit (Werkzeug's form memory cap)
    big_field = client.post(
        "/partners/import", content_type="multipart/form-data",
        data={"csrf_token": csrf(client), "name": "x" * 300_000},
    )  # fmt: skip
    assert big_field.status_code == 413
