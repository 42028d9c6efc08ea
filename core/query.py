"""The Explore query: what a chart, a saved query or ``GET /api/query`` asks
for (filters + metric + group-by + bucket over a time range), and its
parser over plain string parameters, the same for a request and a job.

>>> from datetime import datetime, timezone
>>> now = datetime(2026, 1, 2, tzinfo=timezone.utc)
>>> q = parse_query({"window": "6h", "metric": "p95", "field": "duration_ms"}, now=now)
>>> q.since.isoformat(), q.metric, q.freq
('2026-01-01T18:00:00+00:00', 'p95', '5min')
>>> parse_query({"group_by": "colour"}, now=now)
Traceback (most recent call last):
...
core.errors.InvalidInput: parameter 'group_by': one of source, type, entity, user, status, session_id, execution_id or attrs.<key>, got 'colour'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta

from analytics.buckets import auto_bucket, bucket_seconds
from core.durations import MAX_WINDOW
from core.errors import InvalidInput
from core.filters import DIMENSIONS, ROLLUP_DIMENSIONS, Filters
from core.params import Args

METRICS = ("count", "rate", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99", "success_rate", "unique_users")
FIELDS = ("value", "duration_ms")
MAX_TOP_N = 50  # the most groups a chart or a top=N query keeps
BUCKETS = ("auto", "none", "1min", "5min", "15min", "1h", "6h", "D", "W")
#: Every parameter :func:`parse_query` reads (what ``GET /api/query``, a saved query and a panel take).
PARAMETERS = (
    "window",
    "since",
    "until",
    "metric",
    "field",
    "group_by",
    "bucket",
    "attr_key",
    "attr_value",
    "top",
    *DIMENSIONS,
)


@dataclasses.dataclass(frozen=True)
class Query:
    since: datetime
    until: datetime
    metric: str = "count"
    field: str = "value"
    group_by: str | None = None  # a dimension, or "attrs.<key>"
    bucket: str = "auto"
    filters: Filters = Filters()
    attr_key: str | None = None
    attr_value: str | None = None
    tz: str = "UTC"
    top: int | None = None  # the largest groups only (reports.explore.run_top); None: every group

    @property
    def freq(self) -> str | None:
        if self.bucket == "none":
            return None
        return auto_bucket(self.since, self.until) if self.bucket == "auto" else self.bucket

    def uses_rollups(self) -> bool:
        freq = self.freq
        return (
            self.filters.rollup_compatible
            and (self.group_by is None or self.group_by in ROLLUP_DIMENSIONS)
            and self.metric != "unique_users"
            and self.attr_key is None
            and not (self.metric.startswith("p") and self.field != "duration_ms")
            and (freq is None or bucket_seconds(freq) >= 60 and bucket_seconds(freq) % 60 == 0)
            and self.tz == "UTC"
        )

    def counts_in_sql(self) -> bool:
        """Counts (or rates) in buckets shorter than a minute, of events
        filtered and grouped by plain columns: the database counts them, so
        no event row is read (the overview's last minutes at any ingest rate)."""
        freq = self.freq
        return (
            self.metric in ("count", "rate")
            and freq is not None
            and bucket_seconds(freq) < 60
            and (self.group_by is None or not self.group_by.startswith("attrs."))
            and self.attr_key is None
            and self.tz == "UTC"
        )


DEFAULT_WINDOW = timedelta(hours=24)


def asked_at(now: datetime) -> datetime:
    """The ``now`` a query asked at ``now`` ends at: the next whole second, so
    that the requests of one second ask the same query (and share the cache).

    >>> asked_at(datetime(2026, 1, 1, 10, 0, 5, 250_000)).isoformat()
    '2026-01-01T10:00:06'
    """
    return now.replace(microsecond=0) + timedelta(seconds=1)


def parse_query(values: Mapping[str, str], *, now: datetime, longest: timedelta = MAX_WINDOW) -> Query:
    """The query the parameters describe, ending at ``now`` unless ``until``
    says otherwise; an ``InvalidInput`` naming the first bad parameter."""
    args = Args(values, longest=longest)
    since, until = args.time_range(now, args.duration_arg("window", DEFAULT_WINDOW))
    group_by = args.arg("group_by")
    if group_by and group_by not in DIMENSIONS and not (group_by.startswith("attrs.") and len(group_by) > 6):
        raise InvalidInput("group_by", f"one of {', '.join(DIMENSIONS)} or attrs.<key>, got {group_by!r}")
    return Query(
        since=since,
        until=until,
        metric=args.choice_arg("metric", "count", METRICS),
        field=args.choice_arg("field", "value", FIELDS),
        group_by=group_by,
        bucket=args.choice_arg("bucket", "auto", BUCKETS),
        filters=args.filters_arg(),
        attr_key=args.arg("attr_key"),
        attr_value=args.arg("attr_value"),
        top=parse_top(args),
    )


def parse_top(args: Args) -> int | None:
    """``top=N``: the N largest groups (1 to ``MAX_TOP_N``, as Explore draws them); absent: every group.

    >>> parse_top(Args({"top": "5"})), parse_top(Args({}))
    (5, None)
    >>> parse_top(Args({"top": "0"}))
    Traceback (most recent call last):
    ...
    core.errors.InvalidInput: parameter 'top': must be between 1 and 50, got 0
    """
    return args.int_arg("top", 0, lo=1, hi=MAX_TOP_N) or None
