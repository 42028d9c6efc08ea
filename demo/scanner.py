"""The attendance scanner: every scan saves a photo, syncs the
record to the cloud and texts the parents. Failed syncs wait in a queue that
a housekeeping tick drains once the cloud is back; the queue length is a
``queue_size`` gauge. Components ``camera``, ``cloud`` and ``sms`` report
their state through ``data.records.set_component`` when it changes, and each
sends a heartbeat (its current state) on its own schedule, at most
``mode.heartbeat`` seconds apart, so none goes silent past its TTL. In a
backfill the heartbeats are written as plain ``component`` events (the same
rows ``set_component`` writes) and the components table gets the last state
at the end.

Incidents: ``sync_outage`` (cloud offline: every sync fails, the queue grows,
then drains; the cloud component reports ``offline`` until it is over) and
``camera_fault`` (the camera reports ``error`` for a few minutes)."""

from __future__ import annotations

import math

from demo.model import COMPONENT, Act, Incidents, Mode, Scenario, arrivals, lognormal, school

STUDENTS = tuple(f"2021{n:03d}" for n in range(1, 501))
TICK = 60.0  # seconds between housekeeping ticks (queue drain, queue_size gauge)
# component: (state while well, incident that breaks it, state during that incident)
COMPONENTS = {
    "camera": (("online", "640x480"), "camera_fault", ("error", "Failed to start")),
    "cloud": (("online", "Connected"), "sync_outage", ("offline", "No connectivity")),
    "sms": (("online", "Ready"), "", ("online", "Ready")),
}


class Scanner(Scenario):
    source = "scanner"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        self.queue = 0
        self.record_id = 1000
        self.tick = TICK
        self.drain_per_tick = 15
        self.next_tick: float | None = None
        self.next_beat: dict[str, float] = {}
        self.last_beat: dict[str, tuple[float, str, str]] = {}
        self.scan_rate = self.intensity(0, 0.105, school)

    def _component(self, t: float, name: str, status: str, detail: str) -> None:
        self.op(t, COMPONENT, name=name, status=status, detail=detail, source=self.source)
        self.last_beat[name] = (t, status, detail)

    @staticmethod
    def state(name: str, t: float, incidents: Incidents) -> tuple[str, str]:
        """What component ``name`` reports at ``t``: ``(status, detail)``."""
        well, incident, broken = COMPONENTS[name]
        return broken if incident and incidents.active(incident, t) else well

    def _heartbeats(self, t0: float, t1: float, incidents: Incidents) -> None:
        """Each component's heartbeats in ``[t0, t1)``: the first at once, then
        85-100 % of ``mode.heartbeat`` apart (each component drifts on its own)."""
        for i, name in enumerate(COMPONENTS):
            t = self.next_beat.get(name, t0 + 0.01 * i)
            while t < t1:
                status, detail = self.state(name, t, incidents)
                if self.mode.live:
                    self._component(t, name, status, detail)
                else:  # the row set_component writes, in bulk; close() updates the table
                    self.ev(t, "component", entity=name, status=status, message=detail)
                    self.last_beat[name] = (t, status, detail)
                t += self.mode.heartbeat * self.rng.uniform(0.85, 1.0)
            self.next_beat[name] = t

    def close(self, t: float) -> list[Act]:
        """The components table gets each component's last state, as a heartbeat at the end."""
        return [
            Act(
                max(at, t - 0.001), COMPONENT, {"name": name, "status": status, "detail": detail, "source": self.source}
            )
            for name, (at, status, detail) in self.last_beat.items()
        ]

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        self._heartbeats(t0, t1, incidents)
        for inc in incidents.starting("sync_outage", t0, t1):
            self._component(inc.start, "cloud", "offline", "No connectivity")
            self._notice(inc.start, "error", "cloud", "Cloud connection lost: sync endpoint unreachable")
        for inc in incidents.ending("sync_outage", t0, t1):
            self._component(inc.end, "cloud", "online", "Connected")
            self._notice(inc.end, "warning", "cloud", "Cloud connection restored; retrying queued records")
        for inc in incidents.starting("camera_fault", t0, t1):
            self._component(inc.start, "camera", "error", "Failed to start")
            self._notice(inc.start, "error", "camera", "Camera error: failed to start (device busy)")
        for inc in incidents.ending("camera_fault", t0, t1):
            self._component(inc.end, "camera", "online", "640x480")

        tick = self.next_tick if self.next_tick is not None else math.ceil(t0 / self.tick) * self.tick
        scans = arrivals(self.np_rng, t0, t1, self.scan_rate).tolist()
        i = 0
        while True:
            next_scan = scans[i] if i < len(scans) else None
            if tick < t1 and (next_scan is None or tick <= next_scan):
                self._housekeeping(tick, incidents)
                tick += self.tick
            elif next_scan is not None:
                self._scan(next_scan, incidents)
                i += 1
            else:
                break
        self.next_tick = tick

    def _notice(self, t: float, level: str, entity: str | None, message: str, **attrs: object) -> None:
        """A ``warning`` or ``error`` event (status = level)."""
        self.ev(t, level, status=level, entity=entity, message=message, attrs=attrs or None)

    def _housekeeping(self, t: float, incidents: Incidents) -> None:
        rng = self.rng
        outage = incidents.active("sync_outage", t) is not None
        if not outage and self.queue > 0:
            n = min(self.queue, self.drain_per_tick)
            for _ in range(n):
                at = t + rng.uniform(0.0, self.tick * 0.9)
                ms = round(lognormal(rng, 320.0, 0.35), 1)
                self.ev(
                    at,
                    "sync",
                    status="ok",
                    duration_ms=ms,
                    message="Cloud sync successful (retry)",
                    attrs={"retry": True},
                )
            self.queue -= n
        self.ev(t, "queue_size", value=float(self.queue), message=f"{self.queue} records pending sync")

    def _scan(self, t: float, incidents: Incidents) -> None:
        rng = self.rng
        if incidents.active("camera_fault", t):
            self._notice(t, "error", "camera", "Camera frame grab failed")
            return
        student = rng.choice(STUDENTS)
        self.record_id += 1
        rid = self.record_id
        ids = {"student_id": student, "record_id": rid}
        scan_type = "in" if (t % 86400.0) < 11.5 * 3600.0 else "out"
        punctual = "late" if scan_type == "in" and (t % 86400.0) > 8.0 * 3600.0 else "on_time"
        self.ev(
            t,
            "scan",
            status="ok",
            entity=scan_type,
            message=f"Attendance recorded: {student}",
            attrs=ids | {"scan_type": scan_type, "status": punctual},
        )
        size_kb = int(lognormal(rng, 48.0, 0.15))
        self.ev(
            t + rng.uniform(0.2, 0.9),
            "photo",
            status="ok",
            value=float(size_kb),
            message=f"Photo saved for {student}",
            attrs=ids | {"filepath": f"photos/{student}_{rid}.jpg", "size_kb": size_kb},
        )
        t_sync = t + rng.uniform(1.0, 3.0)
        outage = incidents.active("sync_outage", t_sync) is not None
        if outage or rng.random() < 0.008:
            reason = "connection refused" if outage else "timeout"
            ms = round(lognormal(rng, 5000.0, 0.2), 1)
            self.ev(
                t_sync,
                "sync",
                status="failed",
                duration_ms=ms,
                message=f"Cloud sync failed: {student} ({reason})",
                attrs=ids,
            )
            self._notice(t_sync + 0.01, "warning", None, f"Cloud sync queued: {student}", **ids)
            self.queue += 1
        else:
            ms = round(lognormal(rng, 280.0, 0.35), 1)
            self.ev(t_sync, "sync", status="ok", duration_ms=ms, message=f"Cloud sync successful: {student}", attrs=ids)
        t_sms = t + rng.uniform(2.0, 6.0)
        phone = f"+1555{int(student) % 10_000_000:07d}"
        if rng.random() < 0.04:
            self.ev(
                t_sms,
                "sms",
                status="failed",
                message=f"SMS failed: {student}",
                attrs={"student_id": student, "phone": phone},
            )
            self._notice(t_sms + 0.01, "warning", None, f"SMS failed: {student}", student_id=student, phone=phone)
        else:
            ms = round(lognormal(rng, 900.0, 0.3), 1)
            self.ev(
                t_sms,
                "sms",
                status="ok",
                duration_ms=ms,
                message=f"SMS sent: {student}",
                attrs={"student_id": student, "phone": phone},
            )
        if rng.random() < 0.006:
            self._notice(t + 0.5, "warning", "camera", "Low light: photo quality degraded")
        if rng.random() < 0.003:
            self._notice(t + 0.1, "error", "camera", "QR decode failed; rescan requested")
