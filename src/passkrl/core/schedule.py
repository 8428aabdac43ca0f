"""A ``k`` that changes over training: the paper's P@k -> P@1 transfer (arXiv 2508.10751 §3.5).

A schedule is parsed once, where a run's settings are checked (the trainer's config, TRL's
``PassKGRPOConfig``), and then only asked for ``k_at(step)``. Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KSchedule:
    """A piecewise-constant ``k`` over training steps, e.g. ``KSchedule.parse("8@0,1@100")``.

    ``"8@0,1@100"`` means ``k = 8`` from step 0 and ``k = 1`` from step 100 on: the paper's
    P@k -> P@1 transfer (arXiv 2508.10751 §3.5). A plain integer ``"4"`` is a constant schedule.
    """

    points: tuple[tuple[int, int], ...]  # (first step, k), sorted by step, first step 0

    @classmethod
    def parse(cls, text: str) -> KSchedule:
        text = str(text).strip()
        if not text:
            raise ValueError("k schedule is empty")
        points: list[tuple[int, int]] = []
        for part in text.split(","):
            k_text, _, step_text = part.strip().partition("@")
            try:
                k = int(k_text)
                step = int(step_text) if step_text else 0
            except ValueError:
                raise ValueError(f"k schedule entry {part.strip()!r} is not K or K@STEP with integers") from None
            if k < 1 or step < 0:
                raise ValueError(f"k schedule entry {part.strip()!r}: k must be >= 1 and step >= 0")
            points.append((step, k))
        points.sort()
        if points[0][0] != 0:
            raise ValueError(f"k schedule {text!r} must start at step 0 (e.g. '8@0,1@100')")
        if len({s for s, _ in points}) != len(points):
            raise ValueError(f"k schedule {text!r} names a step twice")
        return cls(tuple(points))

    @classmethod
    def of(cls, k: int, schedule: str | None = None) -> KSchedule:
        """``schedule`` when given (and not blank), else the constant ``k``."""
        if schedule is not None and str(schedule).strip():
            return cls.parse(schedule)
        if isinstance(k, bool) or int(k) != k or int(k) < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        return cls(((0, int(k)),))

    def k_at(self, step: int) -> int:
        k = self.points[0][1]
        for first_step, value in self.points:
            if step >= first_step:
                k = value
        return k

    @property
    def max_k(self) -> int:
        return max(k for _, k in self.points)

    def __str__(self) -> str:
        return ",".join(f"{k}@{s}" for s, k in self.points)
