"""The attendance scanner: every scan saves a photo, syncs the
record to the cloud and texts the parents. Failed syncs wait in a queue that
a housekeeping tick drains once the cloud is back; the queue length is a
``queue_size`` gauge. Components ``camera``, ``cloud`` and ``sms`` change
state through ``data.records.set_component``.

Incidents: ``sync_outage`` (cloud offline: every sync fails, the queue grows,
then drains) and ``camera_fault`` (the camera errors for a few minutes)."""

from __future__ import annotations

import math

from demo.model import COMPONENT, Incidents, Mode, Scenario, arrivals, lognormal, school

STUDENTS = tuple(f"2021{n:03d}" for n in range(1, 501))
LIVE_TICK = 10.0
BACKFILL_TICK = 60.0


class Scanner(Scenario):
    source = "scanner"

    def __init__(self, seed: int, index: int, mode: Mode) -> None:
        super().__init__(seed, index, mode)
        self.queue = 0
        self.record_id = 1000
        self.tick = LIVE_TICK if mode.live else BACKFILL_TICK
        self.gauge_every = 1 if mode.live else 5  # ticks between gauges while all is well
        self.drain_per_tick = 5 if mode.live else 15
        self.next_tick: float | None = None
        self.ticks = 0
        self.started = False
        self.scan_rate = self.intensity(0, 0.105, school, 0.32)

    def _component(self, t: float, name: str, status: str, detail: str) -> None:
        self.op(t, COMPONENT, name=name, status=status, detail=detail, source=self.source)

    def generate(self, t0: float, t1: float, incidents: Incidents) -> None:
        if not self.started:
            self.started = True
            self._component(t0, "camera", "online", "640x480")
            self._component(t0, "cloud", "online", "Connected")
            self._component(t0, "sms", "online", "Ready")
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
        if outage or self.queue > 0 or self.ticks % self.gauge_every == 0:
            self.ev(t, "queue_size", value=float(self.queue), message=f"{self.queue} records pending sync")
        self.ticks += 1

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
