"""Scoring per unit and period (考核): on-time rate, overdue count, quality, satisfaction, rank.

A unit is scored on the tasks it leads (主办) whose current deadline falls in the period:

* `total` — such tasks; `done_on_time` — closed (办结) on or before the deadline;
* `overdue` — closed late, or still open with the deadline passed (as of `today`);
* `on_time_rate` = done_on_time / total;
* `quality` — the mean 复核 quality score (0–100) of the closed ones;
* `satisfaction_rate` — the share of rated 建议/提案 answers rated satisfied or basically satisfied;
* `score` = 50 × on_time_rate + 0.3 × quality + 20 × satisfaction_rate (a missing quality or
  satisfaction counts as full marks, so a unit without proposals is not penalised) — 0 to 100.

One aggregate query (GROUP BY unit) whatever the number of tasks; ranking is by score, then
on-time rate, then fewer overdue, then the unit's name.
"""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass
from datetime import date

from django.db.models import Avg, Count, Q, QuerySet

from egov.supervision.choices import FINISHED_STATES, PROPOSAL_SOURCES, Satisfaction
from egov.supervision.models import SupervisionTask


@dataclass
class UnitScore:
    unit_id: int
    unit_name: str
    total: int
    done_on_time: int
    overdue: int
    open: int
    quality: float | None
    rated: int
    satisfied: int
    rank: int = 0

    @property
    def on_time_rate(self) -> float:
        return self.done_on_time / self.total if self.total else 0.0

    @property
    def satisfaction_rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None

    @property
    def score(self) -> float:
        quality = self.quality if self.quality is not None else 100.0
        satisfaction = self.satisfaction_rate if self.satisfaction_rate is not None else 1.0
        return round(50 * self.on_time_rate + 0.3 * quality + 20 * satisfaction, 1)


def month_period(year: int, month: int) -> tuple[date, date]:
    last = pycalendar.monthrange(year, month)[1]
    return date(year, month, 1), date(year, month, last)


def overdue_q(today: date) -> Q:
    """Tasks counted as overdue by `unit_scores`: closed late, or open past the deadline."""
    finished = Q(state__in=list(FINISHED_STATES))
    return (finished & Q(completed_on_time=False)) | (~finished & Q(deadline__lt=today))


def unit_scores(
    tasks: QuerySet[SupervisionTask], start: date, end: date, today: date
) -> list[UnitScore]:
    """Scores of every lead unit of `tasks` due in [start, end], ranked (one query)."""
    finished = Q(state__in=list(FINISHED_STATES))
    proposal = Q(source__in=list(PROPOSAL_SOURCES))
    rows = (
        tasks.filter(deadline__range=(start, end), lead_unit__isnull=False)
        .values("lead_unit_id", "lead_unit__name")
        .annotate(
            total=Count("id"),
            done_on_time=Count("id", filter=finished & Q(completed_on_time=True)),
            done_late=Count("id", filter=finished & Q(completed_on_time=False)),
            open_overdue=Count("id", filter=~finished & Q(deadline__lt=today)),
            open=Count("id", filter=~finished),
            quality=Avg("quality_score", filter=finished),
            rated=Count("id", filter=finished & proposal & ~Q(satisfaction="")),
            satisfied=Count(
                "id",
                filter=finished
                & proposal
                & Q(satisfaction__in=[Satisfaction.SATISFIED, Satisfaction.BASICALLY]),
            ),
        )
        .order_by()
    )
    scores = [
        UnitScore(
            unit_id=r["lead_unit_id"],
            unit_name=r["lead_unit__name"],
            total=r["total"],
            done_on_time=r["done_on_time"],
            overdue=r["done_late"] + r["open_overdue"],
            open=r["open"],
            quality=float(r["quality"]) if r["quality"] is not None else None,
            rated=r["rated"],
            satisfied=r["satisfied"],
        )
        for r in rows
    ]
    scores.sort(key=lambda s: (-s.score, -s.on_time_rate, s.overdue, s.unit_name, s.unit_id))
    for i, s in enumerate(scores, start=1):
        s.rank = i
    return scores
