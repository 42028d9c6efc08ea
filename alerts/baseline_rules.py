"""Rules whose condition is a judgement rather than a threshold: ``anomaly``
(the analytics detector over the metric per bucket) and ``duration`` (a
script's newest run against the band of its previous runs).

Anomaly rules are incremental: each series keeps its
:class:`analytics.detector.OnlineDetector` in the reader's ``memory`` (the
engine's, from one evaluation to the next; a backtest's, from one step to
the next), and an evaluation reads and scores only the buckets completed
since the last one, filtered and grouped in SQL. The first evaluation (or
one after the rule changed) learns the whole ``history``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pandas as pd

from alerts.coded import Coded
from alerts.metrics import Key, Reader, Sample, _aggregate, _raw, uses_rollups
from alerts.rules import Rule
from analytics.baselines import baseline
from analytics.detector import DetectorConfig, OnlineDetector, Scored
from core.compute import Compute, chunked
from data import queries

BAND_RUNS = 30  # a duration band is learned from the script's previous runs, at most this many
_COUNT_LIKE = ("count", "rate", "sum", "failures")  # a bucket without events is 0, not missing
# A point costs the detector ~0.3 ms; a series' detector state, sent both ways, ~10-60 kB.
REMOTE_MIN_POINTS = 2_000  # fewer points to score than this: scored in-process even with a cluster
REMOTE_MIN_PER_SERIES = 10  # nor when each series has only a few new points (a routine evaluation)
CHUNK_POINTS = 5_000  # points per task on a cluster (whole series per task)


@dataclasses.dataclass
class _Track:
    detector: OnlineDetector
    points: int = 0
    last: Scored | None = None
    value: float | None = None
    at: int | None = None  # epoch seconds of the last bucket scored


def anomaly(reader: Reader, rule: Rule) -> dict[Key, Sample]:
    """Per group, the detector's verdict on the newest complete bucket."""
    step = max(60, int(rule.bucket_delta.total_seconds()) // 60 * 60)
    until_s = int(reader.now.timestamp()) // step * step
    since_s = until_s - int(rule.history_delta.total_seconds()) // step * step
    mem = reader.memory.setdefault(("anomaly", rule.name), {"spec": None, "fed": None, "tracks": {}})
    spec = rule.model_dump_json()
    if mem["spec"] != spec or mem["fed"] is None or not since_s <= mem["fed"] <= until_s:
        mem.update(spec=spec, fed=since_s, tracks={})  # (re)learn the whole history
    tracks: dict[Key, _Track] = mem["tracks"]
    start_s = mem["fed"]
    if start_s < until_s:
        per_bucket = _buckets(reader, rule, _at(reader, start_s), _at(reader, until_s), step)
        config = DetectorConfig(min_history=min(30, max(5, (until_s - since_s) // step // 2)), season=None)
        for key in {k for values in per_bucket.values() for k in values} - set(tracks):
            tracks[key] = _Track(OnlineDetector(config))
        fill = 0.0 if rule.metric in _COUNT_LIKE else None
        keys = list(tracks)
        jobs: list[_Job] = []
        for key in keys:
            points = []
            for b in range(start_s, until_s, step):
                sample = per_bucket.get(b, {}).get(key)
                value = sample.value if sample is not None else fill
                if value is not None:
                    points.append((b, float(value)))
            jobs.append((tracks[key], points))
        for key, track in zip(keys, _feed_all(reader.executor, jobs), strict=True):
            tracks[key] = track
        mem["fed"] = until_s
    out = {}
    for key, track in tracks.items():
        if track.last is None or track.at != until_s - step or track.value is None:
            continue  # the newest bucket has no value for this group
        last = track.last
        above = track.value > last.baseline
        wanted = above if rule.op in (">", ">=") else (not above) if rule.op in ("<", "<=") else True
        out[key] = Sample(track.value, track.points, bool(last.is_anomaly) and wanted, last.reason)
    return out


_Job = tuple[_Track, list[tuple[int, float]]]  # a series' detector and its new (bucket, value) points


def _feed(job: _Job) -> _Track:
    """The track after its detector has scored the new points, in order."""
    track, points = job
    for b, value in points:
        track.last = track.detector.update(pd.Timestamp(b, unit="s", tz="UTC"), value)
        track.points, track.value, track.at = track.points + 1, value, b
    return track


def _feed_chunk(jobs: list[_Job]) -> list[_Track]:
    return [_feed(job) for job in jobs]


def _feed_all(executor: Compute, jobs: list[_Job]) -> list[_Track]:
    """Every track fed, in the order of ``jobs``. The series are independent:
    on a cluster, when the points to score are many (a rule's first
    evaluation learns its whole history, a backtest its first step), chunks
    of series are scored on the workers and their detectors come back; the
    few new points of a routine evaluation are scored here (sending the
    detectors would cost more than scoring them)."""
    total = sum(len(points) for _track, points in jobs)
    per_series = total // max(1, len(jobs))
    if not executor.remote or total < REMOTE_MIN_POINTS or per_series < REMOTE_MIN_PER_SERIES:
        return _feed_chunk(jobs)
    chunks = chunked(jobs, max(1, CHUNK_POINTS // per_series))
    return [track for part in executor.map(_feed_chunk, chunks) for track in part]


def _at(reader: Reader, seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=reader.now.tzinfo)


def _buckets(reader: Reader, rule: Rule, since: datetime, until: datetime, step: int) -> dict[int, dict[Key, Sample]]:
    """The metric per bucket (epoch seconds) and group in ``[since, until)``."""
    keys: list[str] = list(rule.group_by)
    out: dict[int, dict[Key, Sample]] = {}
    if uses_rollups(rule):
        # One rule reads here: filter and group in SQL, only by what the rule needs.
        dims = tuple(dict.fromkeys([*keys, *(["status"] if rule.metric in ("success_rate", "failures") else [])]))
        df = queries.rollup_totals(
            reader.conn, since=since, until=until, filters=rule.filter.filters(), group_by=dims, bucket_seconds=step
        )
        coded = Coded(df, (*dims, "bucket"))
        for (bucket, *group), sample in _aggregate(
            coded, np.ones(coded.n, dtype=bool), rule, ["bucket", *keys], step / 60.0
        ).items():
            out.setdefault(int(pd.Timestamp(bucket).timestamp()), {})[tuple(group)] = sample
        return out
    events = reader.events(since, until, rule.filter)
    if events.empty:
        return out
    events = events.assign(bucket=events["ts"].astype("int64") // (10**6 * step) * step)
    for bucket, part in events.groupby("bucket", sort=True):
        out[int(bucket)] = _raw(part, rule, keys, step / 60.0)
    return out


def duration(reader: Reader, rule: Rule) -> dict[Key, Sample]:
    """Per script, the newest run finished in the window against the band
    learned from the script's previous runs (median +- k robust SD, k =
    ``threshold`` or 3)."""
    runs = queries.executions_frame(reader.conn, since=reader.now - rule.history_delta, newest_first=False)
    runs = runs[runs["duration_ms"].notna() & runs["finished_at"].notna()]
    scripts = rule.filter.entity
    if scripts:
        runs = runs[runs["script"].isin(scripts)]
    start = pd.Timestamp(rule.window_start(reader.now))
    k = rule.threshold if rule.threshold > 0 else 3.0
    out: dict[Key, Sample] = {}
    for script, part in runs.groupby("script", sort=True):
        newest = part.iloc[-1]
        if newest["finished_at"] < start or newest["finished_at"] > pd.Timestamp(reader.now):
            continue
        before = part.iloc[:-1].tail(BAND_RUNS)
        band = baseline(before.rename(columns={"started_at": "ts", "duration_ms": "value"})[["ts", "value"]], k=k)
        value = float(newest["duration_ms"])
        if band.lower is None or band.upper is None:
            out[(str(script),)] = Sample(value, 0, False, "no band yet", str(newest["id"]))
            continue
        slow, fast = value > band.upper, value < band.lower
        flag = slow if rule.op in (">", ">=") else fast if rule.op in ("<", "<=") else slow or fast
        detail = (
            f"run took {value:.0f} ms; the band of {band.n_used} previous runs is {band.lower:.0f}-{band.upper:.0f} ms"
        )
        out[(str(script),)] = Sample(value, band.n_used, bool(flag), detail, str(newest["id"]))
    return out
