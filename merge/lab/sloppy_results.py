"""What :func:`~merge.lab.sloppy_quorum` returns: each read (``SloppyRead``) and the run's
availability and staleness by phase (``SloppyResult``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

__all__ = ["SloppyRead", "SloppyResult"]

Phase = Literal["partition", "before_handoff", "after_handoff"]


class SloppyRead(NamedTuple):
    """One read: when it started, whether it asked the home replicas only, what happened."""

    started_ms: float
    home_only: bool
    outcome: Literal["fresh", "stale", "failed"]
    seen: int
    """The newest version among the first ``r`` replies (-1 if the read failed)."""
    latest: int
    """The newest version acknowledged to a writer before the read started."""


@dataclass(frozen=True, slots=True)
class SloppyResult:
    """The outcome of ``sloppy_quorum``: availability, staleness by phase, and losses.

    Phases of a read, by its start: ``"partition"`` (before the heal),
    ``"before_handoff"`` (after the heal, before every surviving hint reached its home) and
    ``"after_handoff"``. ``handoff_done_ms`` is None if the handoff never finished within
    the run. ``handoffs_ms`` lists when each handoff reached its home.
    """

    n: int
    r: int
    w: int
    sloppy: bool
    cut: int
    seed: int
    heal_ms: float
    writes: int
    """Writes issued (all during the partition)."""
    writes_acknowledged: int
    """Writes that gathered ``w`` acknowledgements in time (from any of their targets)."""
    writes_home_acknowledged: int
    """Writes that ``w`` home replicas acknowledged in time: what a strict quorum gets."""
    reads: tuple[SloppyRead, ...]
    handoffs_ms: tuple[float, ...]
    handoff_done_ms: float | None
    crashed_fallback: int | None
    hints_lost: int
    """Hinted copies (one per home per fallback) destroyed by the fallback's crash."""
    acknowledged_writes_lost: int
    """Acknowledged writes whose version (or a newer one) no live node holds at the end."""
    homes_missing_latest: int
    """Home replicas without the newest acknowledged write at the end."""
    messages: int

    def phase(self, read: SloppyRead) -> Phase:
        """Which phase ``read`` started in."""
        if read.started_ms < self.heal_ms:
            return "partition"
        if self.handoff_done_ms is None or read.started_ms < self.handoff_done_ms:
            return "before_handoff"
        return "after_handoff"

    def stale_fraction(self, phase: Phase, *, home_only: bool | None = None) -> float | None:
        """The fraction of answered reads started in ``phase`` that were stale (None if no
        read was answered then); ``home_only`` keeps only reads of the home replicas
        (True) or only sloppy reads (False). Cost: O(reads)."""
        answered = [
            read
            for read in self.reads
            if self.phase(read) == phase
            and read.outcome != "failed"
            and (home_only is None or read.home_only == home_only)
        ]
        if not answered:
            return None
        return sum(read.outcome == "stale" for read in answered) / len(answered)

    @property
    def write_availability(self) -> dict[str, float | None]:
        """The fraction of writes acknowledged: ``"strict"`` counts home replicas' acks
        only, ``"sloppy"`` any target's (None when this run was strict and contacted no
        fallback)."""
        total = self.writes or 1
        return {
            "strict": self.writes_home_acknowledged / total if self.writes else None,
            "sloppy": self.writes_acknowledged / total if self.sloppy and self.writes else None,
        }

    def read_availability(self, phase: Phase) -> float | None:
        """The fraction of reads started in ``phase`` that gathered ``r`` replies in time."""
        started = [read for read in self.reads if self.phase(read) == phase]
        if not started:
            return None
        return sum(read.outcome != "failed" for read in started) / len(started)

    def as_dict(self) -> dict[str, Any]:
        """The measurements as plain values (fractions may be None when nothing was measured)."""
        handoff = None if self.handoff_done_ms is None else self.handoff_done_ms - self.heal_ms
        return {
            "n": self.n,
            "r": self.r,
            "w": self.w,
            "sloppy": self.sloppy,
            "cut": self.cut,
            "seed": self.seed,
            "partition_s": self.heal_ms / 1000,
            "writes": self.writes,
            "write_availability": self.write_availability,
            "read_availability_during_partition": self.read_availability("partition"),
            "stale_reads_during_partition": self.stale_fraction("partition"),
            "stale_home_reads_before_handoff": self.stale_fraction("before_handoff"),
            "stale_reads_after_handoff": self.stale_fraction("after_handoff"),
            "handoff_ms_after_heal": handoff,
            "fallback_crash": {
                "crashed_fallback": self.crashed_fallback,
                "hints_lost": self.hints_lost,
                "acknowledged_writes_lost": self.acknowledged_writes_lost,
                "homes_missing_latest": self.homes_missing_latest,
            },
            "reads": len(self.reads),
            "messages": self.messages,
        }

    def report(self) -> str:
        """A few lines for a terminal: availability, staleness by phase, crash losses."""

        def share(value: float | None) -> str:
            return "-" if value is None else f"{value:.1%}"

        mode = "sloppy" if self.sloppy else "strict"
        availability = self.write_availability
        handoff = (
            "never finished"
            if self.handoff_done_ms is None
            else f"{self.handoff_done_ms - self.heal_ms:.0f} ms after the heal"
        )
        lines = [
            f"{mode} quorum N={self.n} R={self.r} W={self.w}, {self.cut} home(s) cut off for "
            f"{self.heal_ms / 1000:g} s (seed {self.seed})",
            f"  writes acknowledged during the partition: strict {share(availability['strict'])}"
            f", sloppy {share(availability['sloppy'])} of {self.writes}",
            f"  stale reads: during the partition {share(self.stale_fraction('partition'))}, "
            f"home reads before handoff {share(self.stale_fraction('before_handoff'))}, "
            f"after handoff {share(self.stale_fraction('after_handoff'))}",
            f"  handoff: {handoff}",
        ]
        if self.crashed_fallback is not None:
            lines.append(
                f"  fallback {self.crashed_fallback} crashed: {self.hints_lost} hint(s) lost, "
                f"{self.acknowledged_writes_lost} acknowledged write(s) lost, "
                f"{self.homes_missing_latest} home(s) missing the latest write"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        mode = "sloppy" if self.sloppy else "strict"
        return (
            f"<SloppyResult {mode} n={self.n} r={self.r} w={self.w} cut={self.cut}: "
            f"writes {self.writes_acknowledged}/{self.writes} acknowledged, "
            f"stale home reads before handoff={self.stale_fraction('before_handoff')}>"
        )
