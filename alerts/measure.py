"""A rule's value per group at a time, whatever its kind: the one entry point
of the engine, the backtest and the alert benchmark."""

from __future__ import annotations

from alerts import baseline_rules, forecast_rules, metrics
from alerts.metrics import Key, Reader, Sample
from alerts.rules import Rule


def compute(reader: Reader, rule: Rule) -> dict[Key, Sample]:
    """The rule's metric at ``reader.now``, per group (key = group values in
    ``rule.group_by`` order; ``()`` when ungrouped)."""
    if rule.kind == "anomaly":
        return baseline_rules.anomaly(reader, rule)
    if rule.kind == "forecast":
        return forecast_rules.judge(reader, rule)
    if rule.kind == "duration":
        return baseline_rules.duration(reader, rule)
    return metrics.measure(reader, rule)
