"""The alert state machine: every transition, pending and keep-firing timing,
repeats, acknowledgement, de-duplication and silences, on an injected clock."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta, timezone

import alerts.coded
import alerts.state
from alerts.state import Series, Step, Timing, acknowledge, fingerprint, silenced_by, step

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
S = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def run(
    timing: Timing, *evaluations: tuple[timedelta, bool], silenced: bool = False, start: Series | None = None
) -> list[Step]:
    """Feed ``(offset from T0, matched)`` evaluations through the machine."""
    series = start or Series("fp", {"entity": "a"})
    steps = []
    for offset, matched in evaluations:
        st = step(series, matched, 1.0 if matched else 0.0, T0 + offset, timing, silenced=silenced)
        steps.append(st)
        series = st.after
    return steps


def states(steps: list[Step]) -> list[str]:
    return [s.after.state for s in steps]


def notices(steps: list[Step]) -> list[str | None]:
    return [s.notify for s in steps]


def test_a_quiet_series_stays_normal_and_sends_nothing() -> None:
    steps = run(Timing(), (0 * S, False), (5 * S, False))
    assert states(steps) == ["normal", "normal"]
    assert notices(steps) == [None, None]
    assert not any(s.changed for s in steps)


def test_a_match_without_a_pending_period_fires_at_once_and_notifies() -> None:
    (st,) = run(Timing(), (0 * S, True))
    assert (st.before, st.after.state, st.notify, st.new_instance) == ("normal", "firing", "firing", True)
    assert st.after.started_at == st.after.fired_at == st.after.last_notified_at == T0
    assert st.after.notifications == 1


def test_a_match_is_pending_until_it_has_held_for_the_pending_period() -> None:
    steps = run(Timing(for_=MIN), (0 * S, True), (30 * S, True), (59 * S, True), (60 * S, True), (65 * S, True))
    assert states(steps) == ["pending", "pending", "pending", "firing", "firing"]
    assert notices(steps) == [None, None, None, "firing", None]
    assert steps[0].new_instance and not steps[3].new_instance
    assert steps[3].after.started_at == T0 and steps[3].after.fired_at == T0 + MIN


def test_a_miss_while_pending_returns_to_normal_without_a_notification() -> None:
    steps = run(Timing(for_=MIN), (0 * S, True), (30 * S, False), (40 * S, True))
    assert states(steps) == ["pending", "normal", "pending"]
    assert notices(steps) == [None, None, None]
    assert steps[2].new_instance and steps[2].after.started_at == T0 + 40 * S  # the pending period starts over


def test_a_firing_series_resolves_at_the_first_miss_and_says_so() -> None:
    steps = run(Timing(), (0 * S, True), (5 * S, True), (10 * S, False), (15 * S, False))
    assert states(steps) == ["firing", "firing", "resolved", "resolved"]
    assert notices(steps) == ["firing", None, "resolved", None]
    assert steps[2].after.resolved_at == T0 + 10 * S and steps[2].after.last_match_at == T0 + 5 * S


def test_keep_firing_for_bridges_short_gaps_and_resolves_after_it() -> None:
    timing = Timing(keep_firing_for=30 * S)
    steps = run(
        timing,
        (0 * S, True),
        (10 * S, False),
        (20 * S, False),
        (25 * S, True),
        (40 * S, False),
        (54 * S, False),
        (55 * S, False),
    )
    assert states(steps) == ["firing", "firing", "firing", "firing", "firing", "firing", "resolved"]
    assert notices(steps) == ["firing", None, None, None, None, None, "resolved"]  # 30 s after the last match (25 s)


def test_repeat_notifications_follow_the_repeat_interval_while_firing() -> None:
    steps = run(
        Timing(repeat_interval=10 * MIN),
        (0 * MIN, True),
        (5 * MIN, True),
        (10 * MIN, True),
        (15 * MIN, True),
        (20 * MIN, True),
    )
    assert notices(steps) == ["firing", None, "repeat", None, "repeat"]
    assert steps[-1].after.notifications == 3


def test_an_acknowledged_alert_stops_repeating_but_its_resolve_is_sent() -> None:
    timing = Timing(repeat_interval=10 * MIN)
    (first,) = run(timing, (0 * MIN, True))
    acked = acknowledge(first.after, "ann", T0 + MIN)
    assert (acked.acknowledged_at, acked.acknowledged_by) == (T0 + MIN, "ann")
    steps = run(timing, (20 * MIN, True), (40 * MIN, True), (41 * MIN, False), start=acked)
    assert notices(steps) == [None, None, "resolved"]


def test_a_match_soon_after_resolving_reopens_the_same_alert_without_a_notification() -> None:
    timing = Timing(dedup=5 * MIN, for_=MIN)
    steps = run(timing, (0 * MIN, True), (1 * MIN, True), (2 * MIN, False), (4 * MIN, True))
    assert states(steps) == ["pending", "firing", "resolved", "firing"]
    assert notices(steps) == [None, "firing", "resolved", None]
    reopened = steps[-1]
    assert not reopened.new_instance and reopened.after.resolved_at is None
    assert reopened.after.started_at == T0 and reopened.after.notifications == 2  # same instance, no new notice


def test_a_match_after_the_dedup_window_starts_a_new_alert_and_notifies() -> None:
    timing = Timing(dedup=5 * MIN)
    steps = run(timing, (0 * MIN, True), (1 * MIN, False), (7 * MIN, True))
    assert states(steps) == ["firing", "resolved", "firing"]
    assert notices(steps) == ["firing", "resolved", "firing"]
    assert steps[-1].new_instance and steps[-1].after.started_at == T0 + 7 * MIN and steps[-1].after.notifications == 1


def test_a_reopened_alert_repeats_on_the_original_schedule() -> None:
    timing = Timing(dedup=5 * MIN, repeat_interval=10 * MIN)
    steps = run(timing, (0 * MIN, True), (1 * MIN, False), (2 * MIN, True), (10 * MIN, True), (11 * MIN, True))
    assert notices(steps) == [
        "firing",
        "resolved",
        None,
        None,
        "repeat",
    ]  # 10 min after the last notice (the resolve, at 1 min)


def test_a_silenced_series_fires_without_notifying_and_resolves_silently() -> None:
    steps = run(Timing(), (0 * S, True), (5 * S, True), (10 * S, False), silenced=True)
    assert states(steps) == ["firing", "firing", "resolved"]
    assert notices(steps) == [None, None, None]
    assert all(s.silenced for s in steps)


def test_when_a_silence_ends_on_a_firing_alert_the_firing_notice_goes_out() -> None:
    (silent,) = run(Timing(), (0 * S, True), silenced=True)
    assert silent.after.last_notified_at is None
    steps = run(Timing(), (5 * S, True), (10 * S, False), start=silent.after)
    assert notices(steps) == ["firing", "resolved"]


def test_a_resolve_during_a_silence_after_a_notice_is_not_sent() -> None:
    (loud,) = run(Timing(), (0 * S, True))
    (quiet,) = run(Timing(), (5 * S, False), silenced=True, start=loud.after)
    assert (quiet.after.state, quiet.notify) == ("resolved", None)


def test_the_value_is_kept_when_a_group_has_no_data() -> None:
    (fired,) = run(Timing(keep_firing_for=MIN), (0 * S, True))
    st = step(fired.after, False, None, T0 + 5 * S, Timing(keep_firing_for=MIN))
    assert (st.after.state, st.after.value, st.after.last_eval_at) == ("firing", 1.0, T0 + 5 * S)


def test_fingerprints_depend_on_rule_and_labels_not_label_order() -> None:
    a = fingerprint("queue", {"entity": "x", "source": "s"})
    assert a == fingerprint("queue", {"source": "s", "entity": "x"})
    assert a != fingerprint("queue2", {"entity": "x", "source": "s"})
    assert a != fingerprint("queue", {"entity": "y", "source": "s"})
    assert len(a) == 32


def test_silences_match_rule_and_labels_while_in_force() -> None:
    window = {"starts_at": T0, "ends_at": T0 + MIN}
    by_rule = [{"matchers": {"rule": "queue"}, **window}]
    by_label = [{"matchers": {"entity": "a"}, **window}]
    assert silenced_by(by_rule, "queue", {"entity": "b"}, T0)
    assert not silenced_by(by_rule, "other", {}, T0)
    assert silenced_by(by_label, "anything", {"entity": "a"}, T0 + 59 * S)
    assert not silenced_by(by_label, "anything", {"entity": "a"}, T0 + MIN)  # ends_at is exclusive
    assert not silenced_by(by_label, "anything", {"entity": "a"}, T0 - S)  # not started yet
    assert not silenced_by(by_label, "anything", {}, T0)


def test_the_docstring_examples_hold() -> None:
    for module in (alerts.state, alerts.coded):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__
