"""The alert engine: evaluate every enabled rule, move each series through
the state machine, store the alert instances, send the notifications; and
backtest a rule over stored history with the same machine.

One evaluation is one read (every rule's metric, the open instances, the
silences in force), then one write transaction (new and changed instances),
then the notifications (live and log at once; webhooks, chat, SMS and
e-mail queued). A rule that
fails to compute is reported in the summary and skipped; the others go on.
Evaluations never overlap: the scheduled job and ``POST /api/alerts/evaluate``
take the same lock.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from alerts import manage
from alerts import state as sm
from alerts.defaults import DEFAULT_RULES
from alerts.measure import compute
from alerts.metrics import HistoryReader, Key, Reader, Sample, labels_of, matches
from alerts.notify import Notice, Notifier
from alerts.rules import Rule, RuleError, format_value, load_yaml, parse_rule
from core.compute import LOCAL, Compute
from core.errors import SettingsError
from data import alerts as store
from data.ingest import write_retrying
from data.queries import Filters

log = logging.getLogger("pulseboard.alerts")
MAX_BACKTEST_STEPS = 1500
MAX_BACKTEST_SERIES = 50  # groups whose metric a backtest returns (those that matched first)
_SERIES_FIELDS = (
    "state",
    "value",
    "started_at",
    "fired_at",
    "resolved_at",
    "last_match_at",
    "last_eval_at",
    "last_notified_at",
    "notifications",
    "acknowledged_at",
    "acknowledged_by",
)
_EXPLORE_BUCKETS = {60: "1min", 300: "5min", 900: "15min", 3600: "1h", 21600: "6h", 86400: "D"}
_EXPLORE_WINDOWS = (("15min", 900), ("1h", 3600), ("6h", 21600), ("24h", 86400), ("7d", 604800), ("30d", 2592000))


def timing(rule: Rule, dedup: timedelta) -> sm.Timing:
    return sm.Timing(
        for_=rule.for_delta, keep_firing_for=rule.keep_firing_delta, repeat_interval=rule.repeat_delta, dedup=dedup
    )


def series_of(row: dict[str, Any]) -> sm.Series:
    return sm.Series(
        row["fingerprint"], dict(row["labels"] or {}), alert_id=row["id"], **{f: row[f] for f in _SERIES_FIELDS}
    )


def link(rule: Rule, labels: dict[str, str], sample: Sample | None) -> str:
    """Where a notification points: the run judged (duration rules) or the
    Explore view of the rule's events, narrowed to the series' group."""
    if rule.kind == "duration" and sample is not None and sample.execution_id:
        return f"/executions/{sample.execution_id}"
    forecasting = rule.kind == "forecast"  # Explore over its history, with the forecast drawn
    seconds = (rule.history_delta if forecasting else rule.window_delta).total_seconds()
    window = next((name for name, s in _EXPLORE_WINDOWS if s >= seconds), "30d")
    metric = {"latest": "max", "failures": "success_rate"}.get(rule.metric, rule.metric)
    params: dict[str, str] = {"window": window}
    if forecasting:
        params["overlays"] = "forecast"
        bucket = _EXPLORE_BUCKETS.get(int(rule.bucket_delta.total_seconds()))
        if bucket:
            params["bucket"] = bucket
    if metric != "count":
        params["metric"] = metric
    if rule.field != "value" and metric not in ("count", "rate", "success_rate", "unique_users"):
        params["field"] = rule.field
    for dim, values in rule.filter.filters().items():
        params[dim] = ",".join(values)
    for dim in rule.group_by:
        if labels.get(dim):
            params[dim] = labels[dim]
    if rule.filter.attrs and len(rule.filter.attrs) == 1:
        ((key, value),) = rule.filter.attrs.items()
        params["attr_key"], params["attr_value"] = key, str(value)
    return "/explore?" + urlencode(params)


def summary(rule: Rule, labels: dict[str, str], sample: Sample | None, state: str, holds: bool = True) -> str:
    """One line for an alert: its value against the condition, as true for
    its state (``holds``: whether the condition held at this evaluation; a
    firing alert whose condition cleared keeps firing for ``keep_firing_for``)."""
    title = rule.description or rule.name
    group = ", ".join(f"{k}={v}" for k, v in labels.items() if k not in rule.labels)
    where = f" [{group}]" if group else ""
    value = sample.value if sample else None
    shown = format_value(value)
    if state == "resolved":
        return f"{title}{where}: resolved ({rule.metric} now {shown})"
    if not holds and state == "firing":
        keep = f"keeps firing for {rule.keep_firing_for} after it cleared"
        if rule.kind == "absence":
            return f"{title}{where}: events arrive again ({shown} in the last {rule.window}); {keep}"
        if rule.kind in ("anomaly", "duration", "forecast"):
            return f"{title}{where}: no longer flagged ({rule.metric} {shown}); {keep}"
        now_is = f"is {shown}" if sample is not None else f"has no matching events in the last {rule.window}"
        return (
            f"{title}{where}: {rule.metric} {now_is}, no longer {rule.op} {format_value(rule.threshold)} "
            f"over {rule.window}; {keep}"
        )
    if rule.kind == "absence":
        return f"{title}{where}: no matching events in the last {rule.window}"
    if rule.kind in ("anomaly", "duration", "forecast") and sample is not None and sample.detail:
        return f"{title}{where}: {sample.detail}"
    return f"{title}{where}: {rule.metric} is {shown} ({rule.op} {format_value(rule.threshold)} over {rule.window})"


def _by_labels(item: tuple[str, tuple[dict[str, str], Any]]) -> list[tuple[str, str]]:
    return sorted(item[1][0].items())


class AlertEngine:
    def __init__(self, services: Any, notifier: Notifier | None = None, *, executor: Compute = LOCAL) -> None:
        """``executor`` runs the heavy part of anomaly rules (learning many
        series' detectors): in-process, or on a Dask cluster."""
        self.services = services
        self.notifier = notifier or Notifier(services)
        self.executor = executor
        self._lock = threading.Lock()
        self.last_summary: dict[str, Any] | None = None
        self.evaluations = 0  # completed evaluations (the scheduled job's heartbeat)
        self._parsed: dict[tuple[int, Any], Rule] = {}  # stored rules as validated, by (id, updated_at)
        self._memory: dict[
            Any, Any
        ] = {}  # what rules keep between evaluations (anomaly detectors), by (kind, rule name)

    @property
    def dedup(self) -> timedelta:
        return timedelta(minutes=self.services.settings.alert_dedup_minutes)

    # ------------------------------------------------------------ start-up

    def prepare(self) -> dict[str, int]:
        """Install the default rules into an empty rules table, then create or
        update the rules of the ``--rules`` file by name. Raises SettingsError
        (one line naming ``rules[i].field``) for a bad file."""
        now = self.services.now()
        path = self.services.settings.rules
        file_rules: list[Rule] = []
        if path:
            try:
                file_rules = load_yaml(Path(path).read_text(encoding="utf-8"))
            except OSError as exc:
                raise SettingsError(f"--rules: cannot read {path}: {exc.strerror}") from None
            except RuleError as exc:  # stops the start with one line naming the field
                raise SettingsError(f"--rules {path}: {exc}") from None

        def work(conn: Any) -> dict[str, int]:
            done = {"defaults": 0, "file": 0}
            store.lock_rule_setup(conn)  # nodes starting together take turns
            if store.count_rules(conn) == 0:
                for spec in DEFAULT_RULES:
                    manage.save_rule(conn, spec, now=now, origin="default")
                    done["defaults"] += 1
            for rule in file_rules:
                existing = store.get_rule_by_name(conn, rule.name)
                if existing and existing["spec"] == rule.spec() and existing["origin"] == "file":
                    continue  # unchanged since the last start
                manage.save_rule(conn, rule, now=now, rule_id=existing["id"] if existing else None, origin="file")
                done["file"] += 1
            return done

        done = write_retrying(self.services.db, work)
        if any(done.values()):
            log.info("alert rules installed: %s", done)
        return done

    # ---------------------------------------------------------- evaluation

    def evaluate(
        self, now: datetime | None = None, *, rules: list[Rule] | None = None, dry_run: bool = False, wait: float = 10.0
    ) -> dict[str, Any]:
        """Evaluate every enabled rule once; a summary of what happened.
        ``rules`` evaluates these (unsaved) rules instead of the stored ones;
        ``dry_run`` computes the transitions but stores and sends nothing.
        While another process evaluates, wait up to ``wait`` seconds for it
        (the scheduled job passes 0: it skips, the next cycle comes soon)."""
        with self._lock:
            if dry_run:
                return self._evaluate(now or self.services.now(), rules, dry_run)
            with store.evaluation_lock(self.services.db, wait) as mine:
                if not mine:  # another process is evaluating; the next cycle comes soon
                    return {
                        "evaluated_at": (now or self.services.now()).isoformat(),
                        "skipped": "another process is evaluating",
                    }
                return self._evaluate(now or self.services.now(), rules, dry_run)

    def _evaluate(self, now: datetime, given: list[Rule] | None, dry_run: bool) -> dict[str, Any]:
        started = time.perf_counter()
        errors: list[dict[str, Any]] = []
        results: dict[int, dict[Key, Sample]] = {}
        with self.services.db.read() as conn:
            if given is None:
                rows = store.list_rules(conn, enabled_only=True)
            else:  # unsaved rules get ids no stored rule has
                rows = [{"id": -i, "name": r.name, "spec": r.spec()} for i, r in enumerate(given, 1)]
            rules: list[tuple[dict[str, Any], Rule]] = []
            parsed: dict[tuple[int, Any], Rule] = {}
            for row in rows:
                version = (
                    row["id"],
                    row.get("updated_at"),
                )  # a stored rule is validated once per edit, not every cycle
                try:
                    rule = self._parsed.get(version) or parse_rule(row["spec"])
                except RuleError as exc:
                    errors.append({"rule": row["name"], "error": str(exc)})
                    continue
                parsed[version] = rule
                rules.append((row, rule))
            if given is None:
                self._parsed = parsed
            open_rows = store.latest_instances(conn, [r["id"] for r, _ in rules], resolved_since=now - self.dedup)
            silences = store.list_silences(conn, active_at=now)
            # memory: a cache keyed by rule spec, which a dry run may fill too
            reader = Reader(conn, now, memory=self._memory, executor=self.executor)
            for row, rule in rules:
                try:
                    results[row["id"]] = compute(reader, rule)
                except Exception as exc:  # one broken rule must not stop the others
                    log.warning("alert rule %r failed: %s", rule.name, exc)
                    errors.append({"rule": rule.name, "error": str(exc)})
        if not dry_run:  # forget what deleted or disabled rules kept
            names = {rule.name for _row, rule in rules}
            for key in [k for k in self._memory if k[1] not in names]:
                del self._memory[key]
        computed = time.perf_counter()
        by_rule: dict[int, dict[str, dict[str, Any]]] = {}
        for r in open_rows:
            by_rule.setdefault(r["rule_id"], {})[r["fingerprint"]] = r
        planned: list[tuple[dict[str, Any], Rule, sm.Step, Sample | None]] = []
        for row, rule in rules:
            if row["id"] not in results:
                continue
            current: dict[str, tuple[dict[str, str], Sample | None]] = {}
            for key, got in results[row["id"]].items():
                labels = labels_of(rule, key)
                current[sm.fingerprint(rule.name, labels)] = (labels, got)
            known = by_rule.get(row["id"], {})
            for fp, prev_row in known.items():
                current.setdefault(fp, (dict(prev_row["labels"] or {}), None))
            t = timing(rule, self.dedup)
            for fp, (labels, sample) in current.items():
                prev = series_of(known[fp]) if fp in known else sm.Series(fp, labels)
                silenced = sm.silenced_by(silences, rule.name, labels, now)
                st = sm.step(prev, matches(rule, sample), sample.value if sample else None, now, t, silenced=silenced)
                if st.after.state in ("normal", "resolved") and not st.changed:
                    continue  # nothing to store for a quiet series
                planned.append((row, rule, st, sample))
        notices, sent = [], 0
        if not dry_run:
            notices = self._store(planned, now)
            sent = self.notifier.dispatch(notices)
        counts = {s: 0 for s in ("pending", "firing")}
        for _row, _rule, st, _sample in planned:
            if st.after.state in counts:
                counts[st.after.state] += 1
        out = {
            "evaluated_at": now.isoformat(),
            "rules": len(rules),
            "series": len(planned),
            **counts,
            "transitions": [
                {
                    "rule": rule.name,
                    "labels": st.after.labels,
                    "from": st.before,
                    "to": st.after.state,
                    "value": st.after.value,
                    "alert_id": st.after.alert_id,
                }
                for _row, rule, st, _s in planned
                if st.changed
            ],
            "notifications": len(notices) if not dry_run else sum(1 for p in planned if p[2].notify),
            "deliveries": sent,
            "errors": errors,
            "dry_run": dry_run,
            "compute_ms": round((computed - started) * 1000, 2),
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        }
        if not dry_run:
            self.last_summary = out
            self.evaluations += 1
        return out

    def _store(self, planned: list[tuple[dict[str, Any], Rule, sm.Step, Sample | None]], now: datetime) -> list[Notice]:
        """Write new and changed instances in one transaction; the notices to send."""
        if not planned:
            return []
        notices: list[Notice] = []

        def work(conn: Any) -> None:
            notices.clear()
            for i, (row, rule, st, sample) in enumerate(planned):
                s = st.after
                values = {f: getattr(s, f) for f in _SERIES_FIELDS} | {
                    "summary": summary(rule, s.labels, sample, s.state, matches(rule, sample)),
                    "severity": rule.severity,
                    "labels": s.labels,
                }
                if st.new_instance or s.alert_id is None:
                    alert_id = store.insert_alert(conn, values | {"rule_id": row["id"], "fingerprint": s.fingerprint})
                    s = dataclasses.replace(s, alert_id=alert_id)
                    planned[i] = (row, rule, dataclasses.replace(st, after=s), sample)
                else:
                    store.update_alert(conn, s.alert_id, values)
                if st.notify and s.alert_id is not None:
                    targets = tuple((t.type, t.address) for t in rule.targets)
                    waits = tuple((t.to or "", t.group_wait_seconds) for t in rule.targets if t.type == "email")
                    notices.append(
                        Notice(
                            s.alert_id,
                            st.notify,
                            rule.name,
                            rule.severity,
                            s.fingerprint,
                            s.labels,
                            s.value,
                            values["summary"],
                            link(rule, s.labels, sample),
                            now,
                            targets,
                            waits,
                        )
                    )

        write_retrying(self.services.db, work)
        return notices

    # ------------------------------------------------------------ backtest

    def backtest(
        self, rule: Rule, since: datetime, until: datetime, step: timedelta | None = None, *, stepwise: bool = False
    ) -> dict[str, Any]:
        """Run ``rule`` over stored history: its metric at every ``step`` in
        ``[since, until]`` through the same state machine (no silences).
        Returns the transitions (when it would have gone pending, fired,
        resolved), how many notifications it would have sent, and the metric
        per group at every step (``series``, for a chart against the threshold).

        Threshold and absence rules read the rollups of the whole range once
        (:class:`alerts.metrics.HistoryReader`) and slice each step's window
        from them; ``stepwise`` reads every step on its own instead, as the
        evaluation does (the same answer, one read per step: the benchmark's
        baseline). Anomaly, duration and forecast rules always go step by step (their
        detectors read only what is new at each step; forecast rules refit once
        per new bucket)."""
        if since >= until:
            raise RuleError("since", "must be before until")
        span = until - since
        step = step or max(timedelta(minutes=1), span / 300)
        if step <= timedelta(0):
            raise RuleError("step", "must be positive")
        if span / step > MAX_BACKTEST_STEPS:
            raise RuleError(
                "step", f"at most {MAX_BACKTEST_STEPS} steps: use a step of at least {span / MAX_BACKTEST_STEPS}"
            )
        t_rule = timing(rule, self.dedup)
        series: dict[str, sm.Series] = {}
        transitions: list[dict[str, Any]] = []
        kinds = {"firing": 0, "repeat": 0, "resolved": 0}
        times: list[datetime] = []
        values: dict[str, dict[int, float | None]] = {}  # per fingerprint: step index -> metric value
        labels_by: dict[str, dict[str, str]] = {}
        matched_by: set[str] = set()  # fingerprints whose condition held at some step
        started = time.perf_counter()
        # Each step's reader serves this rule alone: its filter goes into the SQL
        # (not when min_samples counts other events, which it would hide).
        only = rule.filter.filters() if rule.samples_filter is None else Filters()
        memory: dict[Any, Any] = {}  # anomaly detectors carried from step to step
        with self.services.db.read() as conn:
            history: HistoryReader | None = None
            if not stepwise and rule.kind in ("threshold", "absence"):
                # An absence rule per group also reads which groups sent events over its history.
                known = rule.kind == "absence" and bool(rule.group_by)
                lookback = max(rule.window_delta, rule.history_delta if known else timedelta(0))
                history = HistoryReader(
                    conn,
                    since - lookback,
                    until,
                    only=only,
                    memory=memory,
                    outcomes=rule.metric in ("failures", "success_rate"),
                )
            t = since
            while t <= until:
                at = len(times)
                times.append(t)
                reader = (
                    history.at(t)
                    if history is not None
                    else Reader(conn, t, only=only, memory=memory, executor=self.executor)
                )
                samples = compute(reader, rule)
                current: dict[str, tuple[dict[str, str], Sample | None]] = {
                    sm.fingerprint(rule.name, labels_of(rule, k)): (labels_of(rule, k), s) for k, s in samples.items()
                }
                for fp, (labels, sample) in current.items():
                    if sample is not None:
                        values.setdefault(fp, {})[at] = sample.value
                        labels_by.setdefault(fp, labels)
                for fp, prev in series.items():
                    current.setdefault(fp, (prev.labels, None))
                for fp, (labels, sample) in sorted(current.items(), key=_by_labels):  # the same order every run
                    prev = series.get(fp) or sm.Series(fp, labels)
                    hit = matches(rule, sample)
                    if hit:
                        matched_by.add(fp)
                    st = sm.step(prev, hit, sample.value if sample else None, t, t_rule)
                    if st.new_instance:  # backtests number their instances, so the shape matches stored alerts
                        st = dataclasses.replace(st, after=dataclasses.replace(st.after, alert_id=len(transitions) + 1))
                    series[fp] = st.after
                    if st.changed or st.notify:
                        transitions.append(
                            {
                                "ts": t.isoformat(),
                                "labels": labels,
                                "from": st.before,
                                "to": st.after.state,
                                "value": st.after.value,
                                "notification": st.notify,
                            }
                        )
                    if st.notify:
                        kinds[st.notify] += 1
                t += step
        notifications = sum(kinds.values())
        # The groups that matched first, then the others; by labels within each.
        shown = sorted(values, key=lambda fp: (fp not in matched_by, sorted(labels_by[fp].items())))
        shown = shown[:MAX_BACKTEST_SERIES]
        return {
            "rule": rule.name,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "step_seconds": step.total_seconds(),
            "steps": len(times),
            "transitions": transitions,
            "fired": kinds["firing"],
            "resolved": kinds["resolved"],
            "notifications": notifications,
            "by_kind": kinds,
            "deliveries": notifications * len(rule.targets),
            "series": [
                {
                    "labels": labels_by[fp],
                    "ts": [times[i].isoformat() for i in values[fp]],
                    "values": list(values[fp].values()),
                }
                for fp in shown
            ],
            "series_total": len(values),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def stop(self) -> None:
        self.notifier.stop()
