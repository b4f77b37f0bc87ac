"""What each recipient's digest contains, week after week (alerts.compose + alerts.send).

The database is filled directly; sending goes to the outbox (no SMTP host in tests), which is
enough to record what each recipient was carried.
"""

from __future__ import annotations

import datetime as dt

from fundradar.alerts import changes
from fundradar.alerts.compose import compose, iso_week, week_period
from fundradar.alerts.send import send_digest
from fundradar.pipeline import db
from tests.digest_support import (
    add_call,
    add_run,
    add_verdict,
    change_call,
    recipients_config,
)

UTC = dt.UTC
MON = dt.datetime(2026, 11, 23, 11, 0, tzinfo=UTC)  # Monday 07:00 in Saint Lucia, week 48
WEEK = dt.timedelta(days=7)


def _compose(config, now=MON, who=0):  # type: ignore[no-untyped-def]
    with db.session_scope() as s:
        return compose(s, config.recipients[who], config, now=now, sources=[("eu_ft", "EC")])


def _ids(model, key):  # type: ignore[no-untyped-def]
    section = next((s for s in model.sections if s.key == key), None)
    return [c.id for c in section.items] if section else []


def test_week_label_and_period_follow_saint_lucia_time() -> None:
    # Monday 02:00 UTC is still Sunday evening in Saint Lucia: week 47, not 48
    assert iso_week(dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)) == "2026-W47"
    assert iso_week(MON) == "2026-W48"
    assert week_period("2026-W48", "en") == "23–29 Nov 2026"
    assert week_period("2026-W49", "fr") == "30 nov. – 6 déc. 2026"
    assert week_period("2026-W53", "en") == "28 Dec 2026 – 3 Jan 2027"


def test_new_section_filters_by_band_theme_status_deadline_and_verdict() -> None:
    config = recipients_config(
        [{"email": "a@oecs.example", "min_band": "medium", "themes": ["ocean", "climate"]}]
    )
    high = add_call(band="high", score=90, themes=["ocean"])
    medium = add_call(band="medium", score=60, themes=["climate", "health"])
    high2 = add_call(band="high", score=70, themes=["climate"])
    add_call(band="low", themes=["ocean"])  # below min band
    add_call(band="high", themes=["health"])  # other theme
    add_call(band="high", themes=["ocean"], status="closed")
    add_call(band="high", themes=["ocean"], deadline=MON - dt.timedelta(days=1))  # passed
    dismissed = add_call(band="high", themes=["ocean"])
    add_verdict(dismissed, "not-relevant")
    add_run("eu_ft", at=MON - dt.timedelta(hours=6))  # the source was checked: a plain subject
    model = _compose(config)
    # band high first (by score), then medium
    assert _ids(model, "new") == [high, high2, medium]
    assert model.counts["new"] == 3
    assert model.subject == "fundradar week 48 (23–29 Nov 2026): 3 new relevant calls"


def test_min_band_none_and_no_themes_take_everything_open() -> None:
    config = recipients_config([{"email": "a@oecs.example", "min_band": "none"}])
    ids = [add_call(band=b, score=s) for b, s in (("none", 1), ("low", 20), ("high", 90))]
    assert sorted(_ids(_compose(config), "new")) == sorted(ids)


def test_a_call_is_new_once_then_only_updated_when_it_changed() -> None:
    config = recipients_config([{"email": "a@oecs.example"}])
    deadline = dt.datetime(2027, 3, 31, 22, 59, tzinfo=UTC)  # 31 March, 18:59 in Saint Lucia
    call = add_call(deadline=deadline)
    first = send_digest(now=MON, config=config)
    assert first.ok and first.results[0].counts["new"] == 1

    # next week: nothing changed, so nothing to say about it
    model = _compose(config, now=MON + WEEK)
    assert model.quiet and model.counts["new"] == 0
    assert send_digest(now=MON + WEEK, config=config).ok

    # the funder moves the deadline; the week after, the call comes back under Updated only
    change_call(call, at=MON + WEEK + dt.timedelta(days=2),
                deadline=dt.datetime(2027, 4, 30, 22, 59, tzinfo=UTC))  # fmt: skip
    model = _compose(config, now=MON + 2 * WEEK)
    assert _ids(model, "new") == []
    assert _ids(model, "updated") == [call]
    updated = model.sections[0].items[0]
    assert updated.changes == ["deadline moved from 31 March to 30 April"]
    assert send_digest(now=MON + 2 * WEEK, config=config).ok

    # and once told, not again
    assert _compose(config, now=MON + 3 * WEEK).quiet


def test_updated_says_now_open_and_closed_early() -> None:
    config = recipients_config([{"email": "a@oecs.example"}])
    opening = add_call(status="forthcoming", title="Opens soon")
    closing = add_call(status="open", title="Closes early", deadline=MON + 8 * WEEK)
    send_digest(now=MON, config=config)
    change_call(opening, at=MON + dt.timedelta(days=3), status="open")
    change_call(closing, at=MON + dt.timedelta(days=3), status="closed")
    model = _compose(config, now=MON + WEEK)
    views = {c.id: c for c in model.sections[0].items}
    assert model.sections[0].key == "updated"
    assert views[opening].changes == ["now open"]
    assert views[closing].changes == ["closed early"]


def test_changed_and_changed_back_is_not_news() -> None:
    config = recipients_config([{"email": "a@oecs.example"}])
    call = add_call(title="Blue economy call")
    send_digest(now=MON, config=config)
    change_call(call, at=MON + dt.timedelta(days=1), title="Blue economy call (draft)")
    change_call(call, at=MON + dt.timedelta(days=2), title="Blue economy call")
    assert _compose(config, now=MON + WEEK).quiet


def test_not_relevant_call_never_comes_back_even_when_it_changes() -> None:
    config = recipients_config([{"email": "a@oecs.example"}])
    call = add_call()
    send_digest(now=MON, config=config)
    add_verdict(call, "not-relevant", at=MON + dt.timedelta(days=1))
    change_call(call, at=MON + dt.timedelta(days=2), status="closed")
    model = _compose(config, now=MON + WEEK)
    assert call not in _ids(model, "updated") and model.quiet


def test_closing_soon_once_per_deadline() -> None:
    config = recipients_config([{"email": "a@oecs.example"}], closing_within_days=14)
    soon = add_call(deadline=MON + dt.timedelta(days=20))
    later = add_call(deadline=MON + dt.timedelta(days=60))
    send_digest(now=MON, config=config)  # both carried as new
    model = _compose(config, now=MON + WEEK)  # 13 days left for `soon`
    assert _ids(model, "closing") == [soon]
    item = model.sections[0].items[0]
    assert item.days_left == 13 and item.days_text == "13 days left"
    send_digest(now=MON + WEEK, config=config)
    assert _ids(_compose(config, now=MON + 2 * WEEK), "closing") == []  # told once
    assert later not in _ids(model, "closing")


def test_shortlisted_reminders_at_14_and_3_days_each_once() -> None:
    # "Closing" looks 7 days ahead here, so the 14-day reminder is its own section
    config = recipients_config([{"email": "a@oecs.example"}], reminder_days=[14, 3],
                               closing_within_days=7)  # fmt: skip
    deadline = MON + dt.timedelta(days=16)
    call = add_call(deadline=deadline, band="low")  # shortlisted: reminded whatever its band
    add_verdict(call, "shortlist")
    # 16 days ahead: no reminder yet
    assert _ids(_compose(config), "reminders") == []
    send_digest(now=MON, config=config)

    # next Monday, 9 days left: the 14-day reminder
    model = _compose(config, now=MON + WEEK)
    assert _ids(model, "reminders") == [call]
    assert model.sections[0].items[0].reminder_days == 14
    send_digest(now=MON + WEEK, config=config)
    assert _ids(_compose(config, now=MON + WEEK + dt.timedelta(days=1)), "reminders") == []

    # the Monday after, 2 days left: closing within 7 days, shown there (its most urgent
    # section), which is also its 3-day reminder
    near = MON + 2 * WEEK
    model = _compose(config, now=near)
    assert [s.key for s in model.sections] == ["closing"]
    assert _ids(model, "closing") == [call] and model.sections[0].items[0].shortlisted
    assert "2 days left" in model.sections[0].items[0].days_text
    send_digest(now=near, config=config)
    later = _compose(config, now=near + dt.timedelta(hours=6))
    assert _ids(later, "reminders") == [] and _ids(later, "closing") == []


def test_a_shortlisted_call_shown_as_closing_gets_only_its_3_day_reminder_later() -> None:
    config = recipients_config([{"email": "a@oecs.example"}], reminder_days=[14, 3])
    call = add_call(deadline=MON + dt.timedelta(days=16), band="low")
    add_verdict(call, "shortlist")
    send_digest(now=MON, config=config)  # 16 days: nothing about it yet

    # 9 days left: under "Closing within 14 days", which stands for the 14-day reminder
    model = _compose(config, now=MON + WEEK)
    assert _ids(model, "closing") == [call] and _ids(model, "reminders") == []
    assert model.counts == {"closing": 1, "new": 0, "updated": 0, "reminders": 0}
    send_digest(now=MON + WEEK, config=config)

    # 2 days left: shown in "Closing" already, so the 3-day reminder, once
    near = MON + 2 * WEEK
    model = _compose(config, now=near)
    assert _ids(model, "reminders") == [call] and _ids(model, "closing") == []
    assert model.sections[0].items[0].reminder_days == 3
    send_digest(now=near, config=config)
    assert _ids(_compose(config, now=near + dt.timedelta(hours=6)), "reminders") == []


def test_source_health_keeps_only_what_is_wrong_with_cause_and_since_when() -> None:
    config = recipients_config([{"email": "a@oecs.example"}])
    add_run("eu_ft", at=MON - dt.timedelta(hours=6), seen=42)
    add_run("afd", at=MON - 2 * WEEK, seen=7)
    add_run("afd", at=MON - WEEK, status="failed", seen=0, message="spider raised KeyError")
    add_run("afd", at=MON - dt.timedelta(hours=5), status="failed", seen=0,
            message="HTTP 503 on the listing page")  # fmt: skip
    with db.session_scope() as s:
        model = compose(s, config.recipients[0], config, now=MON,
                        sources=[("eu_ft", "European Commission"), ("afd", "AFD"),
                                 ("anr", "ANR")])  # fmt: skip
    health = {h.source: h for h in model.health}
    assert health["eu_ft"].ok and health["eu_ft"].calls_this_week == 42
    assert health["eu_ft"].last_ok == "Mon 23 Nov 2026, 01:03 AST"
    afd = health["afd"]
    assert not afd.ok and afd.calls_this_week == 0 and afd.verdict == "crawl failed"
    assert afd.cause == "error 503" and afd.detail == "HTTP 503 on the listing page"
    assert afd.since == "16 Nov"  # the first failed run after the last good one
    assert afd.last_ok == "Mon 9 Nov 2026, 07:03 AST"
    anr = health["anr"]
    assert anr.status is None and anr.last_ok == "never" and anr.cause == "never checked"
    assert [h.source for h in model.troubled] == ["afd", "anr"]
    assert model.health_summary == "2 of 3 sources could not be checked:"
    assert model.health_others == "The other source was checked."


def test_all_quiet_week_still_has_health_and_says_so() -> None:
    config = recipients_config([{"email": "a@oecs.example", "language": "fr"}])
    add_run("eu_ft", at=MON - dt.timedelta(hours=6), seen=3)
    model = _compose(config)
    assert model.quiet and model.sections == []
    assert [h.source for h in model.health] == ["eu_ft"]
    assert model.subject == "fundradar semaine 48 (23–29 nov. 2026) : aucun nouvel appel pertinent"


def test_long_sections_are_cut_and_the_rest_comes_next_week() -> None:
    config = recipients_config([{"email": "a@oecs.example"}], max_per_section=2)
    ids = [add_call(score=90 - i) for i in range(3)]
    model = _compose(config)
    assert _ids(model, "new") == ids[:2] and model.sections[0].more == 1
    assert model.counts["new"] == 3
    send_digest(now=MON, config=config)
    # the one cut was not carried, so it is still new next week
    assert _ids(_compose(config, now=MON + WEEK), "new") == [ids[2]]


def test_each_recipient_has_their_own_history() -> None:
    config = recipients_config([{"email": "a@oecs.example"}, {"email": "b@oecs.example"}])
    call = add_call()
    send_digest(now=MON, config=config, only="a@oecs.example")
    assert _ids(_compose(config, now=MON + WEEK, who=0), "new") == []
    assert _ids(_compose(config, now=MON + WEEK, who=1), "new") == [call]


def test_change_sentences() -> None:
    d = lambda s: dt.datetime.fromisoformat(s).isoformat()  # noqa: E731
    today = dt.date(2026, 11, 23)
    moved = [changes.Change("deadlines", [d("2027-03-31T22:59:00+00:00")],
                            [d("2027-04-30T22:59:00+00:00")])]  # fmt: skip
    assert changes.describe(moved, today=today) == ["deadline moved from 31 March to 30 April"]
    # with the year when it is far enough off to be misread
    assert changes.describe(moved, today=dt.date(2026, 1, 5)) == [
        "deadline moved from 31 March 2027 to 30 April 2027"
    ]
    assert changes.describe(moved, today=dt.date(2027, 1, 5), lang="fr") == [
        "date limite déplacée du 31 mars au 30 avril"
    ]
    same_day = [changes.Change("deadlines", ["2026-12-10T16:00:00+00:00"],
                               ["2026-12-10T21:00:00+00:00"])]  # fmt: skip
    assert changes.describe(same_day, today=today) == [
        "deadline moved from 10 December, 12:00 to 10 December, 17:00"
    ]
    budget = [changes.Change("budget_max", 1_000_000, 1_500_000)]
    assert changes.describe(budget, current={"currency": "EUR", "budget_min": None},
                            today=today) == [
        "budget changed from EUR 1,000,000 to EUR 1,500,000"
    ]  # fmt: skip
    set_deadline = [changes.Change("deadlines", [], ["2026-12-31T12:00:00+00:00"])]
    assert changes.describe(set_deadline, today=today) == ["deadline announced: 31 December"]
    assert changes.describe([changes.Change("status", "open", "closed")],
                            current={"deadline": None}, today=today) == ["now closed"]  # fmt: skip
    assert changes.describe([changes.Change("status", "closed", "open")], today=today) == [
        "reopened"
    ]


def test_a_single_deadline_change_reads_the_same() -> None:
    one = [changes.Change("deadline", "2027-03-31T22:59:00+00:00", "2027-04-30T22:59:00+00:00")]
    assert changes.describe(one, today=dt.date(2026, 11, 23)) == [
        "deadline moved from 31 March to 30 April"
    ]
