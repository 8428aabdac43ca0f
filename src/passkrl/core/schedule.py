"""A ``k`` that changes over training: the paper's P@k -> P@1 transfer (arXiv 2508.10751 §3.5).

A schedule is parsed once, where a run's settings are checked (the trainer's config, TRL's
``PassKGRPOConfig``, verl's ``algorithm.passk``), and then only asked for ``k_at(step)``. Every ``k`` in
it obeys the one rule of :func:`passkrl.core.k.check_k`; whether the largest fits the group size
(``check_k(schedule.max_k, n)``) is for the caller, which knows ``n``. Only the standard library is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from passkrl.core.k import check_k


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
            try:
                check_k(k)
            except ValueError as err:
                raise ValueError(f"k schedule entry {part.strip()!r}: {err}") from None
            if step < 0:
                raise ValueError(f"k schedule entry {part.strip()!r}: step must be >= 0, got step={step}")
            points.append((step, k))
        points.sort()
        if points[0][0] != 0:
            raise ValueError(f"k schedule {text!r} must start at step 0 (e.g. '8@0,1@100')")
        if len({s for s, _ in points}) != len(points):
            raise ValueError(f"k schedule {text!r} names a step twice")
        return cls(tuple(points))

    @classmethod
    def of(cls, k: int, schedule: str | None = None, *, name: str = "k") -> KSchedule:
        """``schedule`` when given (and not blank), else the constant ``k`` (:func:`check_k`; ``name``
        is how the caller's user wrote it, e.g. ``"--k"``)."""
        if schedule is not None and str(schedule).strip():
            return cls.parse(schedule)
        return cls(((0, check_k(k, name=name)),))

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
