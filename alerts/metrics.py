"""A rule's metric per label group, read from the database.

Rollups answer whenever the rule allows it (filters and groups on source,
type, entity, status; every metric but ``unique_users``, ``latest`` and
percentiles of ``value``): a :class:`Reader` reads them once per window and
evaluation, grouped by all four dimensions, and each rule filters and
aggregates that small frame in pandas, so 200 rules cost a handful of SQL
reads whatever the number of events. Windows read from rollups are whole
minutes: ``5m`` at 12:03:30 counts from 11:58:00, the minute in progress
included. The rest reads raw events in the window (bounded).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection

from alerts.coded import BoolArray, Coded, FloatArray, extreme, finite, sums
from alerts.rules import Rule, RuleFilter
from analytics.breakdowns import classify_statuses
from analytics.histogram import hist_percentiles
from core.compute import LOCAL, Compute
from data import alerts as store
from data import queries
from data.queries import ROLLUP_DIMENSIONS, Filters

Key = tuple[str, ...]
MAX_RAW_ROWS = 500_000


class MetricError(ValueError):
    """A rule cannot be computed as asked (e.g. too many raw events)."""


@dataclasses.dataclass(frozen=True)
class Sample:
    value: float | None
    samples: int
    flag: bool | None = None  # anomaly/duration/forecast: the detector's, the band's or the forecast's verdict
    detail: str = ""
    execution_id: str | None = None  # duration rules: the run judged


class Reader:
    """Reads for one evaluation at ``now``, cached by time range: rules with
    the same window share one rollup read (and its factorized form)."""

    def __init__(
        self,
        conn: Connection,
        now: datetime,
        *,
        only: Filters = Filters(),
        memory: dict[Any, Any] | None = None,
        executor: Compute = LOCAL,
    ) -> None:
        """``only`` narrows the rollup reads in SQL (for a reader that serves
        one rule, e.g. a backtest step); rules still filter what they get.
        ``memory`` outlives the reader: state kept from one evaluation to the
        next (the anomaly detectors), owned by the engine or the backtest.
        ``executor`` runs what rules compute from what was read (anomaly
        detectors learning many series): here, or on a Dask cluster."""
        self.conn = conn
        self.now = now
        self.memory = {} if memory is None else memory
        self.executor = executor
        self.only = Filters(**{k: v for k, v in only.items() if k in ROLLUP_DIMENSIONS})
        self._cache: dict[tuple[Any, ...], Any] = {}

    def rollups(self, since: datetime, until: datetime, step: int | None = None, *, counts_only: bool = False) -> Coded:
        key = ("r", _minute(since), until, step, counts_only)
        if key not in self._cache:
            columns = (
                ("count",)
                if counts_only
                else (
                    "count",
                    "value_count",
                    "value_sum",
                    "value_min",
                    "value_max",
                    "dur_count",
                    "dur_sum",
                    "dur_min",
                    "dur_max",
                )
            )
            df = queries.rollup_totals(
                self.conn,
                since=since,
                until=until,
                filters=self.only,
                group_by=ROLLUP_DIMENSIONS,
                bucket_seconds=step,
                columns=columns,
            )
            self._cache[key] = Coded(df, (*ROLLUP_DIMENSIONS, "bucket") if step else ROLLUP_DIMENSIONS)
        return self._cache[key]  # type: ignore[no-any-return]

    def hist(self, since: datetime, until: datetime) -> Coded:
        key = ("h", _minute(since), until)
        if key not in self._cache:
            hist = queries.hist_totals(
                self.conn, since=since, until=until, filters=self.only, group_by=ROLLUP_DIMENSIONS
            )
            self._cache[key] = Coded(hist, ROLLUP_DIMENSIONS)
        return self._cache[key]  # type: ignore[no-any-return]

    def events(self, since: datetime, until: datetime, f: RuleFilter) -> pd.DataFrame:
        key = ("e", since, until, f.model_dump_json())
        if key not in self._cache:
            df = queries.events_frame(
                self.conn,
                since=since,
                until=until,
                filters=f.filters(),
                limit=MAX_RAW_ROWS + 1,
                with_attrs=bool(f.attrs),
            )
            if len(df) > MAX_RAW_ROWS:
                raise MetricError(
                    f"more than {MAX_RAW_ROWS:,} raw events match in the window; narrow the filter or the window"
                )
            if f.attrs and len(df):
                df = df[[_attrs_match(a, f.attrs) for a in df["attrs"]]]
            self._cache[key] = df
        return self._cache[key]


class HistoryReader(Reader):
    """Reads for a backtest of one rule over ``[start, end]``: the rollups (and
    duration histograms) of the whole range are read once, per minute, and
    each step's window is a slice of them, so a backtest of 1,500 steps costs
    one or two SQL reads instead of one per step. ``at(now)`` moves the reader
    to the next step. Windows the range does not cover, bucketed reads and raw
    events are read as :class:`Reader` reads them."""

    def __init__(
        self,
        conn: Connection,
        start: datetime,
        end: datetime,
        *,
        only: Filters = Filters(),
        memory: dict[Any, Any] | None = None,
        outcomes: bool = False,
    ) -> None:
        """``outcomes``: the rule counts successes or failures (its statuses
        are classified once for the whole range)."""
        super().__init__(conn, start, only=only, memory=memory)
        self.start, self.end = start, end
        self.outcomes = outcomes
        self._whole: dict[str, tuple[Coded, npt.NDArray[np.int64]]] = {}

    def at(self, now: datetime) -> HistoryReader:
        """This reader at the step ``now`` (what one step read is forgotten)."""
        self.now = now
        self._cache = {}
        return self

    def _covers(self, since: datetime, until: datetime) -> bool:
        return _minute(since) * 60 >= _minute(self.start) * 60 and until <= self.end + timedelta(microseconds=1)

    def _read(self, kind: str) -> tuple[Coded, npt.NDArray[np.int64]]:
        """The whole range's rows of ``kind`` (``r`` rollups, ``h`` histograms),
        sorted by minute, with each row's minute (epoch seconds)."""
        if kind not in self._whole:
            since, until = self.start, self.end + timedelta(microseconds=1)
            if kind == "r":
                df = queries.rollup_totals(
                    self.conn,
                    since=since,
                    until=until,
                    filters=self.only,
                    group_by=ROLLUP_DIMENSIONS,
                    bucket_seconds=60,
                )
                time_col = "bucket"
            else:
                df = queries.hist_totals(
                    self.conn,
                    since=since,
                    until=until,
                    filters=self.only,
                    group_by=ROLLUP_DIMENSIONS,
                    bucket_seconds=60,
                )
                time_col = "time"
            minutes = (
                (df[time_col].astype("int64").to_numpy() // 1_000_000).astype(np.int64)
                if len(df)
                else np.zeros(0, np.int64)
            )
            order = np.argsort(minutes, kind="stable")
            df, minutes = df.iloc[order].reset_index(drop=True), minutes[order]
            self._whole[kind] = (Coded(df, ROLLUP_DIMENSIONS), minutes)
        return self._whole[kind]

    def _slice(self, kind: str, since: datetime, until: datetime) -> Coded:
        whole, minutes = self._read(kind)
        lo = np.searchsorted(minutes, _minute(since) * 60, side="left")
        hi = np.searchsorted(minutes, until.timestamp(), side="left")
        return _Slice(whole, int(lo), int(hi), outcomes=kind == "r" and self.outcomes)

    def rollups(self, since: datetime, until: datetime, step: int | None = None, *, counts_only: bool = False) -> Coded:
        if step is not None or not self._covers(since, until):
            return super().rollups(since, until, step, counts_only=counts_only)
        key = ("r", _minute(since), until)
        if key not in self._cache:
            self._cache[key] = self._slice("r", since, until)
        return self._cache[key]  # type: ignore[no-any-return]

    def hist(self, since: datetime, until: datetime) -> Coded:
        if not self._covers(since, until):
            return super().hist(since, until)
        key = ("h", _minute(since), until)
        if key not in self._cache:
            self._cache[key] = self._slice("h", since, until)
        return self._cache[key]  # type: ignore[no-any-return]


class _Slice(Coded):
    """Rows ``[lo, hi)`` of a :class:`Coded` frame, sharing its codes and columns."""

    def __init__(self, whole: Coded, lo: int, hi: int, *, outcomes: bool) -> None:
        self.n = hi - lo
        self.codes = {dim: codes[lo:hi] for dim, codes in whole.codes.items()}
        self.uniques = whole.uniques
        self._df = whole._df
        self._whole, self._lo, self._hi = whole, lo, hi
        self._columns = {}
        self.derived = {}
        if outcomes:
            ok, bad = _outcomes(whole)  # statuses classified once for the whole range
            self.derived["ok"], self.derived["bad"] = ok[lo:hi], bad[lo:hi]

    def column(self, name: str) -> FloatArray:
        if name not in self._columns:
            self._columns[name] = self._whole.column(name)[self._lo : self._hi]
        return self._columns[name]


def _minute(ts: datetime) -> int:
    return int(ts.timestamp()) // 60


def uses_rollups(rule: Rule) -> bool:
    raw_percentile = rule.metric.startswith("p") and rule.field == "value"
    return (
        rule.filter.rollup_compatible
        and "user" not in rule.group_by
        and rule.metric not in ("unique_users", "latest")
        and not raw_percentile
    )


def measure(reader: Reader, rule: Rule) -> dict[Key, Sample]:
    """A threshold or absence rule's metric at ``reader.now``, per group (key =
    group values in ``rule.group_by`` order; ``()`` when ungrouped). Anomaly
    and duration rules are judged in ``alerts.baseline_rules``; ``alerts.measure.compute``
    serves every kind."""
    now = reader.now
    since, until = rule.window_start(now), now + timedelta(microseconds=1)
    if rule.metric == "latest":
        rows = store.latest_values(
            reader.conn, filters=rule.filter.filters(), since=since, until=until, group_by=tuple(rule.group_by)
        )
        return {tuple(str(v or "") for v in k): Sample(v, 1) for k, v, _ts in rows}
    out = _current(reader, rule, rule.filter, since, until)
    if rule.samples_filter is not None:
        counts = _current(reader, rule.model_copy(update={"metric": "count"}), rule.samples_filter, since, until)
        out = {k: dataclasses.replace(s, samples=counts[k].samples if k in counts else 0) for k, s in out.items()}
    if rule.kind == "absence":
        known = _known_groups(reader, rule) if rule.group_by else {()}
        out = {k: out.get(k, Sample(0.0, 0)) for k in known | set(out)}
    return out


def _current(reader: Reader, rule: Rule, f: RuleFilter, since: datetime, until: datetime) -> dict[Key, Sample]:
    keys: list[str] = list(rule.group_by)
    minutes = max((until - since).total_seconds(), 1.0) / 60.0
    if uses_rollups(rule) and f.rollup_compatible:
        if rule.metric.startswith("p"):
            hist = reader.hist(since, until)
            return _percentiles(hist, hist.mask(f.filters().items()), keys, float(rule.metric[1:]))
        coded = reader.rollups(since, until)
        return _aggregate(coded, coded.mask(f.filters().items()), rule, keys, minutes)
    return _raw(reader.events(since, until, f), rule, keys, minutes)


def _outcomes(c: Coded) -> tuple[FloatArray, FloatArray]:
    """Per rollup row, its count if its status is a success (a failure), else 0."""
    if "ok" not in c.derived:
        statuses = pd.Series(c.uniques["status"], dtype=object).replace("", None)
        kinds = (
            classify_statuses(statuses).to_numpy(dtype=object)[c.codes["status"]] if c.n else np.array([], dtype=object)
        )
        count = c.column("count")
        c.derived["ok"] = np.where(kinds == "success", count, 0.0)
        c.derived["bad"] = np.where(kinds == "failure", count, 0.0)
    return c.derived["ok"], c.derived["bad"]


def _label(values: tuple[Any, ...]) -> Key:
    return tuple("" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values)


def _aggregate(c: Coded, mask: BoolArray, rule: Rule, keys: list[str], minutes: float) -> dict[Key, Sample]:
    """Rollup rows -> the rule's metric per group (keys may include ``bucket``)."""
    ids, labels = c.groups(mask, keys)
    g = len(labels)
    if g == 0:
        return {}
    metric, prefix = rule.metric, "dur" if rule.field == "duration_ms" else "value"
    count = sums(ids, c.column("count")[mask], g)
    values: FloatArray
    samples = count
    if metric in ("failures", "success_rate"):
        ok_rows, bad_rows = _outcomes(c)
        ok, bad = sums(ids, ok_rows[mask], g), sums(ids, bad_rows[mask], g)
        if metric == "failures":
            values = bad
        else:
            samples = ok + bad
            values = np.where(samples > 0, 100.0 * ok / np.where(samples > 0, samples, 1.0), np.nan)
    elif metric == "count":
        values = count
    elif metric == "rate":
        values = count / minutes
    else:
        samples = sums(ids, c.column(f"{prefix}_count")[mask], g)
        if metric == "sum":
            values = sums(ids, c.column(f"{prefix}_sum")[mask], g)
        elif metric == "avg":
            total = sums(ids, c.column(f"{prefix}_sum")[mask], g)
            values = np.where(samples > 0, total / np.where(samples > 0, samples, 1.0), np.nan)
        else:  # min, max
            values = extreme(ids, c.column(f"{prefix}_{metric}")[mask], g, largest=metric == "max")
    return {_label(k): Sample(finite(float(v)), int(n)) for k, v, n in zip(labels, values.tolist(), samples.tolist())}


def _percentiles(c: Coded, mask: BoolArray, keys: list[str], pct: float) -> dict[Key, Sample]:
    ids, labels = c.groups(mask, keys)
    if not labels:
        return {}
    buckets = c.column("bucket")[mask].astype(np.int64)
    values, totals = hist_percentiles(ids, buckets, c.column("count")[mask], len(labels), pct)
    return {_label(k): Sample(finite(float(v)), int(n)) for k, v, n in zip(labels, values.tolist(), totals.tolist())}


def _groups(df: pd.DataFrame, keys: list[str]) -> Any:
    if keys:
        return df.groupby(keys, sort=False, dropna=False)
    return df.assign(_all="").groupby("_all", sort=False)


def _key(k: Any, keys: list[str]) -> Key:
    if not keys:
        return ()
    return _label(k if isinstance(k, tuple) else (k,))


def _raw(df: pd.DataFrame, rule: Rule, keys: list[str], minutes: float) -> dict[Key, Sample]:
    if df.empty:
        return {}
    out = {}
    for k, part in _groups(df, keys):
        n = len(part)
        field = part[rule.field].dropna()
        metric = rule.metric
        value: float | None
        if metric in ("count", "rate"):
            value, samples = (n if metric == "count" else n / minutes), n
        elif metric == "unique_users":
            value, samples = float(part["user"].nunique()), n
        elif metric == "failures":
            value, samples = float((classify_statuses(part["status"]) == "failure").sum()), n
        elif metric == "success_rate":
            outcome = classify_statuses(part["status"])
            ok, bad = int((outcome == "success").sum()), int((outcome == "failure").sum())
            value, samples = (100.0 * ok / (ok + bad) if ok + bad else None), ok + bad
        elif metric.startswith("p"):
            value, samples = (float(field.quantile(float(metric[1:]) / 100.0)) if len(field) else None), len(field)
        else:
            value, samples = (
                (float(field.agg(metric if metric != "avg" else "mean")) if len(field) else None),
                len(field),
            )
        out[_key(k, keys)] = Sample(None if value is None else float(value), samples)
    return out


def _known_groups(reader: Reader, rule: Rule) -> set[Key]:
    """Groups that sent matching events in the rule's history: an absence
    rule watches each of them (raw-event filters: the groups of the window)."""
    if not (rule.filter.rollup_compatible and "user" not in rule.group_by):
        return set()
    c = reader.rollups(reader.now - rule.history_delta, reader.now + timedelta(microseconds=1), counts_only=True)
    _ids, labels = c.groups(c.mask(rule.filter.filters().items()), list(rule.group_by))
    return {_label(k) for k in labels}


def matches(rule: Rule, sample: Sample | None) -> bool:
    """Whether the rule's condition holds for one group's sample."""
    if sample is None:
        return False
    if rule.kind == "absence":
        return sample.value == 0
    if sample.value is None or sample.samples < rule.min_samples:
        return False
    if rule.kind in ("anomaly", "duration", "forecast"):
        return bool(sample.flag)
    return rule.holds(sample.value)


def labels_of(rule: Rule, key: Key) -> dict[str, str]:
    names = ["entity"] if rule.kind == "duration" else list(rule.group_by)
    return dict(zip(names, key)) | dict(rule.labels)


def _attrs_match(attrs: Any, wanted: dict[str, Any]) -> bool:
    if not isinstance(attrs, dict):
        return False
    for key, want in wanted.items():
        value: Any = attrs
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or (value != want and str(value) != str(want)):
            return False
    return True
