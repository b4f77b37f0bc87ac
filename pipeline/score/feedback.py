"""What the team's verdicts teach the scorer: a bounded, explained adjustment to a rule score.

Pure functions, no database (`pipeline.review.judged_calls` reads the verdicts). Trained on past
verdicts (`Judged`), the model adds up to four contributions for a call:

* funder, programme, themes: how verdicts on calls of the same funder / programme / themes went,
  as a smoothed difference from all verdicts: with n verdicts of values v (+1 relevant, -1 not
  relevant...) and the overall mean m, the prior is (sum(v) + k*m) / (n + k) - m, k being
  `prior_strength`. One verdict moves little; a funder judged ten times the same way moves the
  most. Times `funder_points` (and so on).
* similarity: the past call most like this one (TF-IDF cosine over stemmed words of the title
  and summary), when at least `similarity_min` alike: its verdict's value times the likeness
  times `similar_points`, with a reason quoting it ("Like 'X', marked not relevant on 3 March
  2026: different applicant type").

The sum is cut to +-`max_points`, a call restricted elsewhere is never lifted, and nothing
applies before `min_verdicts` verdicts. TF-IDF is written here (a few lines) rather than taken
from RapidFuzz, already a dependency: RapidFuzz's ratios weigh "call for proposals" like
"sargassum", and the weights must come from the judged calls themselves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from fundradar.pipeline.record import Call
from fundradar.pipeline.score import ScoreResult
from fundradar.pipeline.score.profile import Feedback, Profile, fold, tokenize

_SIMILAR_CHARS = 1500  # the start of the summary says what a call is; the rest is procedure
_MIN_WORD = 3

VERDICT_WORDS = {
    "relevant": "marked relevant",
    "shortlist": "shortlisted",
    "applied": "applied to",
    "not-relevant": "marked not relevant",
}


@dataclass(frozen=True)
class Judged:
    """One past verdict with what the model needs of its call."""

    ref: str  # the call's id or key: a call is never compared with its own verdict
    title: str
    verdict: str  # relevant | shortlist | applied | not-relevant
    funder: str | None = None
    programme: str | None = None
    themes: tuple[str, ...] = ()
    summary: str | None = None
    reason: str | None = None
    when: datetime | None = None


@dataclass(frozen=True)
class Contribution:
    kind: str  # funder | programme | theme | similar
    points: float
    text: str


@dataclass(frozen=True)
class Adjustment:
    active: bool  # False: too few verdicts or switched off (the score is the rule score)
    verdicts: int  # verdicts the model learned from
    contributions: tuple[Contribution, ...] = ()
    total: float = 0.0  # sum of contributions
    applied: float = 0.0  # after the bound and the restriction rule
    note: str = ""  # why it is off, bounded or held back

    @property
    def reason(self) -> str | None:
        """The line added to the call's reasons, or None when nothing moved."""
        if not self.active or round(self.applied) == 0:
            return None
        sign = "+" if self.applied > 0 else ""
        parts = "; ".join(c.text for c in sorted(self.contributions, key=lambda c: -abs(c.points)))
        bound = f" ({self.note})" if self.note else ""
        return f"Past verdicts: {sign}{round(self.applied)}{bound}: {parts}"


def _key(name: str | None) -> str:
    return " ".join(fold(name or "").lower().split())


def _words(title: str, summary: str | None) -> list[str]:
    text = f"{title}\n{(summary or '')[:_SIMILAR_CHARS]}"
    return [t.stem for t in tokenize(text) if not t.stop and len(t.stem) >= _MIN_WORD]


def _day(when: datetime | None) -> str:
    return f" on {when.day} {when:%B %Y}" if when else ""


def _title(title: str) -> str:
    t = " ".join(title.split())
    return t if len(t) <= 70 else t[:69] + "…"


@dataclass
class _Prior:
    n: int = 0
    total: float = 0.0
    positive: int = 0
    negative: int = 0

    def add(self, value: float) -> None:
        self.n += 1
        self.total += value
        self.positive += value > 0
        self.negative += value < 0


@dataclass
class FeedbackModel:
    settings: Feedback
    judged: list[Judged]
    mean: float = 0.0
    funders: dict[str, _Prior] = field(default_factory=dict)
    programmes: dict[str, _Prior] = field(default_factory=dict)
    themes: dict[str, _Prior] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    vectors: list[dict[str, float]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.settings.enabled and len(self.judged) >= self.settings.min_verdicts

    def value(self, verdict: str) -> float:
        return float(self.settings.values.get(verdict, 0.0))  # type: ignore[call-overload]

    def _smoothed(self, prior: _Prior) -> float:
        k = self.settings.prior_strength
        return (prior.total + k * self.mean) / (prior.n + k) - self.mean

    def _vector(self, words: Iterable[str]) -> dict[str, float]:
        counts = Counter(words)
        vec = {w: (1 + math.log(c)) * self.idf.get(w, self._unseen) for w, c in counts.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {w: x / norm for w, x in vec.items()} if norm else {}

    @property
    def _unseen(self) -> float:
        return math.log((1 + len(self.judged)) / 1) + 1

    def contributions(
        self, title: str, summary: str | None, funder: str | None, programme: str | None,
        themes: Sequence[str], ref: str | None = None,
    ) -> list[Contribution]:  # fmt: skip
        s = self.settings
        out: list[Contribution] = []
        for kind, name, table, points in (
            ("funder", funder, self.funders, s.funder_points),
            ("programme", programme, self.programmes, s.programme_points),
        ):
            prior = table.get(_key(name))
            if prior is None or not name:
                continue
            delta = self._smoothed(prior) * points
            if round(delta, 1):
                out.append(
                    Contribution(
                        kind,
                        delta,
                        f"{kind} {' '.join(name.split())!r}: {prior.positive} of {prior.n} past "
                        f"verdicts relevant ({delta:+.1f})",
                    )
                )
        seen = [(t, self.themes[t]) for t in themes[:3] if t in self.themes]
        if seen:
            delta = sum(self._smoothed(p) for _, p in seen) / len(seen) * s.theme_points
            if round(delta, 1):
                detail = ", ".join(f"{t} {p.positive} of {p.n}" for t, p in seen)
                out.append(
                    Contribution(
                        "theme", delta, f"themes ({detail} past verdicts relevant) ({delta:+.1f})"
                    )
                )
        best = self._most_like(title, summary, ref)
        if best is not None:
            likeness, past = best
            delta = self.value(past.verdict) * likeness * s.similar_points
            why = f": {past.reason}" if past.reason else ""
            out.append(
                Contribution(
                    "similar",
                    delta,
                    f"Like '{_title(past.title)}', {VERDICT_WORDS.get(past.verdict, past.verdict)}"
                    f"{_day(past.when)}{why} ({likeness:.0%} alike, {delta:+.1f})",
                )
            )
        return out

    def _most_like(
        self, title: str, summary: str | None, ref: str | None
    ) -> tuple[float, Judged] | None:
        vec = self._vector(_words(title, summary))
        best: tuple[float, Judged] | None = None
        for past, other in zip(self.judged, self.vectors, strict=True):
            if ref is not None and past.ref == ref:
                continue
            likeness = sum(x * other.get(w, 0.0) for w, x in vec.items())
            # ties go to the earlier verdict: the order of the verdicts decides, not of a dict
            if likeness >= self.settings.similarity_min and (best is None or likeness > best[0]):
                best = (likeness, past)
        return best

    def adjust(
        self, result: ScoreResult, call: Call | Mapping[str, Any], profile: Profile,
        ref: str | None = None,
    ) -> tuple[ScoreResult, Adjustment]:  # fmt: skip
        """The result with the feedback applied (score, band, a reason), and how it was made."""
        s = self.settings
        if not s.enabled:
            return result, Adjustment(False, len(self.judged), note="feedback switched off")
        if not self.active:
            note = f"off until {s.min_verdicts} verdicts ({len(self.judged)} so far)"
            return result, Adjustment(False, len(self.judged), note=note)
        title, summary, funder, programme = _fields(call)
        parts = tuple(self.contributions(title, summary, funder, programme, result.themes, ref=ref))
        total = sum(c.points for c in parts)
        applied = max(-s.max_points, min(s.max_points, total))
        note = f"bounded to {s.max_points:g}" if applied != total else ""
        if result.eligible is False and applied > 0:
            applied, note = 0.0, "never lifts a call restricted elsewhere"
        adj = Adjustment(True, len(self.judged), parts, total, applied, note)
        if round(applied) == 0:
            return result, adj
        score = max(0, min(100, round(result.score + applied)))
        reasons = [*result.reasons, adj.reason or ""]
        explained = (*result.explained, (applied, adj.reason or ""))
        return replace(
            result, score=score, band=profile.band(score), reasons=reasons, explained=explained
        ), adj


def _fields(call: Call | Mapping[str, Any]) -> tuple[str, str | None, str | None, str | None]:
    if isinstance(call, Call):
        return call.title or "", call.summary, call.funder, call.programme
    summary = next((call[k] for k in ("summary", "text", "description") if call.get(k)), None)
    return (
        str(call.get("title") or ""),
        None if summary is None else str(summary),
        call.get("funder"),
        call.get("programme"),
    )


def train(
    judged: Iterable[Judged], profile: Profile, settings: Feedback | None = None
) -> FeedbackModel:
    """A model from past verdicts (the latest verdict per call; verdicts of unknown kind are
    left out, as they say nothing the model can use). `settings` default to the profile's."""
    settings = settings or profile.config.feedback
    items = [j for j in judged if j.verdict in settings.values]
    model = FeedbackModel(settings, items)
    if not items:
        return model
    model.mean = sum(model.value(j.verdict) for j in items) / len(items)
    for j in items:
        v = model.value(j.verdict)
        if j.funder:
            model.funders.setdefault(_key(j.funder), _Prior()).add(v)
        if j.programme:
            model.programmes.setdefault(_key(j.programme), _Prior()).add(v)
        for t in j.themes[:3]:
            model.themes.setdefault(t, _Prior()).add(v)
    docs = [_words(j.title, j.summary) for j in items]
    df = Counter(w for d in docs for w in set(d))
    n = len(items)
    model.idf = {w: math.log((1 + n) / (1 + c)) + 1 for w, c in df.items()}
    model.vectors = [model._vector(d) for d in docs]
    return model
