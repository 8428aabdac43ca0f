"""The task registry: each task module declares itself once, and every entry point reads that declaration.

A task module ends with one :func:`register` call. Its :class:`TaskSpec` holds everything the rest of
passkrl needs to know about the task:

* its ``name``, a one-line ``description`` and how to ``build`` it (:func:`get_task`);
* the ``data_source`` its rows carry, which routes a row back to the task's verifier
  (:func:`spec_for_source`);
* the optional ``extra`` it needs (:func:`require_extra`, :class:`MissingExtraError`);
* its reward adapters, ``score_row`` (verl's ``compute_score`` signature) and ``score_rows`` (a batch),
  which :mod:`passkrl.tasks.rewards` calls for verl and TRL;
* the command ``passkrl data NAME`` (:class:`DataCommand`: its options and its writer);
* what ``passkrl train --task`` can teach the embedded trainer's tiny model (:class:`TrainPreset`);
* optionally a ``variant`` (``NAME/<what>``, e.g. ``puzzles/chain_sum``) and other names for it
  (:meth:`TaskSpec.alias`).

Importing :mod:`passkrl.tasks` imports every module of the package, so the built-in tasks are
registered whichever passkrl module is imported first, and a new task module in the package needs no
other edit. A task defined elsewhere is registered when its module is imported (docs/tasks.md,
"Adding a task"). Nothing here imports a task module: the modules import this one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from passkrl.tasks.base import Task


class MissingExtraError(ImportError, ValueError):
    """An optional dependency of a task is not installed (a ``ValueError`` too, so the CLI prints one line)."""


class RowScorer(Protocol):
    """verl's ``compute_score`` signature: the reward in ``[0, 1]`` of one response to one row."""

    def __call__(self, data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                 **kwargs: Any) -> float: ...


class BatchScorer(Protocol):
    """The rewards of many rows of one task at once, in order (verl's batch reward manager, TRL)."""

    def __call__(self, data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                 extra_infos: Sequence[dict | None], *, workers: int = 1, **kwargs: Any) -> list[float]: ...


@dataclass(frozen=True)
class Extra:
    """An optional dependency of a task: the ``module`` it imports and the ``passkrl[name]`` extra that installs it."""

    module: str
    name: str

    def require(self, task: str) -> None:
        """Raise :class:`MissingExtraError` naming the ``pip install`` to run unless ``module`` imports."""
        try:
            importlib.import_module(self.module)
        except ImportError:
            raise MissingExtraError(f"task {task!r} needs the {self.module!r} package, which is not installed: "
                                    f'pip install "passkrl[{self.name}]"') from None


@dataclass(frozen=True)
class Variant:
    """``NAME/<what>``: one version of a task named after the slash, e.g. ``puzzles/chain_sum``.

    ``options(variant, options)`` turns the name after the slash and the caller's keyword options into
    the task's options (``ValueError`` if they contradict each other). A task whose ``data_source`` is
    a family (ends with ``/``) writes the rows of a variant under ``data_source + variant``.
    """

    what: str
    """What the name after the slash is, for messages: ``"reasoning-gym data set"``."""
    options: Callable[[str, dict[str, Any]], dict[str, Any]]


def merge_options(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested dicts merged key by key rather than replaced."""
    merged = dict(base)
    for key, value in extra.items():
        both_dicts = isinstance(value, Mapping) and isinstance(merged.get(key), Mapping)
        merged[key] = merge_options(merged[key], value) if both_dicts else value
    return merged


def _merge_task_options(preset_options: Mapping[str, Any], task_options: dict[str, Any],
                        partial_credit: bool) -> dict[str, Any]:
    """A preset's default ``configure``: ``--task-options`` merged into the preset's options."""
    return merge_options(preset_options, task_options)


@dataclass(frozen=True)
class TrainPreset:
    """A version of a task that ``passkrl train --task NAME`` can teach the tiny character model.

    The tiny model (about 1M parameters, trained from scratch on a CPU) learns only short answers to
    short questions, so a preset fixes the task's options to such problems. The embedded trainer reads
    the bare question from ``problem.meta["text"]``, reports pass@k per ``problem.meta["group"]``,
    imitates ``problem.answer`` (printable ASCII) in its warm-up and scores bare answers with the
    task's ``score_answers(problems, answers)``.
    """

    options: Mapping[str, Any]
    """The task's options (``get_task(spec.name, **options)``)."""
    description: str
    configure: Callable[[Mapping[str, Any], dict[str, Any], bool], dict[str, Any]] = _merge_task_options
    """``(options, --task-options, --partial-credit) -> the task's options``; by default ``--task-options``
    are merged into ``options`` (:func:`merge_options`) and ``--partial-credit`` changes nothing."""


@dataclass(frozen=True)
class DataCommand:
    """``passkrl data NAME``: the options the command takes and how it writes a data set.

    ``options`` is a dataclass that ``tyro`` turns into the command's options (its docstring is the
    help); it has at least ``out`` (the file written), ``seed`` and ``split``. ``write(options, name)``
    checks everything before any work, writes the rows and returns how many it wrote (``name`` is the
    task as typed, an alias included); :func:`passkrl.tasks.rows.write_task_data` does it for drawn
    problems. ``summary(options)`` says what was written, in the command's closing line
    (``"maze sizes 7,9"`` in ``wrote 12 train rows (maze sizes 7,9, seed 0) to out.jsonl``).
    """

    options: type
    write: Callable[[Any, str], int]
    summary: Callable[[Any], str]


def _one_by_one(score_row: RowScorer) -> BatchScorer:
    """The batch scorer of a task that scores rows one at a time."""

    def score_rows(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                   extra_infos: Sequence[dict | None], *, workers: int = 1, **kwargs: Any) -> list[float]:
        return [score_row(source, solution, truth, info, **kwargs)
                for source, solution, truth, info in zip(data_sources, solution_strs, ground_truths, extra_infos)]

    return score_rows


# eq=False: a spec is its own identity (it holds functions and dicts), so it can key a cache.
@dataclass(frozen=True, eq=False)
class TaskSpec:
    """Everything passkrl needs to know about one task; a task module registers one (:func:`register`).

    Calling the spec builds the task: ``spec(**options)`` checks the extra, then returns
    ``build(**{**spec.options, **options})``.
    """

    name: str
    """Registry name, e.g. ``"maze"``; what ``get_task``, ``passkrl data`` and ``--task`` take."""
    data_source: str
    """The ``data_source`` of the task's rows, e.g. ``"passkrl/maze"``. Rows may add ``/<anything>`` to it
    (``passkrl/maths/gsm8k``). One ending in ``/`` is a family (``"passkrl/puzzles/"``): its rows carry it
    followed by a name (``passkrl/puzzles/chain_sum``)."""
    build: Callable[..., Task]
    """Builds the task from its keyword options (usually the task's class)."""
    description: str
    """One line for listings (``passkrl data --help``)."""
    score_row: RowScorer
    """The reward of one response to one of the task's rows (verl's ``compute_score`` signature); never
    raises on a response, may raise ``ValueError`` on a malformed row setting."""
    score_rows: BatchScorer | None = None
    """The rewards of many rows at once, equal to ``score_row`` on each (default: exactly that); a task with
    a slow verifier scores them in ``workers`` processes."""
    extra: Extra | None = None
    """The optional dependency the task needs, checked before it is built or scores a row."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Keyword options this name adds before the caller's (an alias's, such as ``name="enigmata_mix"``)."""
    variant: Variant | None = None
    """``NAME/<what>`` names a version of the task (``puzzles/chain_sum``), if the task has versions."""
    data_command: DataCommand | None = None
    """The command ``passkrl data NAME``; None: the command does not offer the task."""
    trainable: Mapping[str, TrainPreset] = field(default_factory=dict)
    """Presets the tiny model of ``passkrl train --task PRESET`` can learn, by ``--task`` name."""
    alias_of: str | None = None
    """For another name of a task (:meth:`alias`): the task's own name. Rows are routed to that task."""

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"a task name is a non-empty word without '/', got {self.name!r}")
        if not self.data_source or self.data_source == "/":
            raise ValueError(f"task {self.name!r}: data_source must be non-empty, got {self.data_source!r}")
        if self.score_rows is None:
            object.__setattr__(self, "score_rows", _one_by_one(self.score_row))

    def __call__(self, **options: Any) -> Task:
        """The task built with ``options`` (after this name's own ``options``), its extra checked first."""
        if self.extra is not None:
            self.extra.require(self.name)
        return self.build(**{**self.options, **options})

    def __repr__(self) -> str:
        return f"TaskSpec({self.name!r}, data_source={self.data_source!r})"

    @property
    def is_family(self) -> bool:
        """True iff rows carry ``data_source`` followed by a name (``passkrl/puzzles/<dataset>``)."""
        return self.data_source.endswith("/")

    def serves(self, data_source: Any) -> bool:
        """True iff a row with this ``data_source`` is one of this task's rows."""
        source = str(data_source)
        if self.is_family:
            return source.startswith(self.data_source) and len(source) > len(self.data_source)
        return source == self.data_source or source.startswith(self.data_source + "/")

    def alias(self, name: str, description: str, options: Mapping[str, Any] | None = None) -> TaskSpec:
        """The same task under another name, built with ``options`` added (its rows stay this task's)."""
        return replace(self, name=name, description=description, options={**self.options, **(options or {})},
                       variant=None, trainable={}, alias_of=self.alias_of or self.name)


_SPECS: dict[str, TaskSpec] = {}

TASKS: Mapping[str, TaskSpec] = MappingProxyType(_SPECS)
"""Every registered task by name (aliases included), in the order registered: a read-only view of the
registry. ``TASKS["maze"](sizes=(7, 9))`` builds a task as :func:`get_task` does."""


def _probe(spec: TaskSpec) -> str:
    """A data source that ``spec`` serves (for a family, its prefix followed by a name)."""
    return spec.data_source + "x" if spec.is_family else spec.data_source


def register(spec: TaskSpec) -> TaskSpec:
    """Add ``spec`` to the registry and return it; ``ValueError`` if its name or data source is taken.

    An alias (``alias_of`` set) shares its task's data source; every other task must serve data sources
    that no registered task serves, so each row has exactly one verifier.
    """
    if not isinstance(spec, TaskSpec):
        raise TypeError(f"register takes a TaskSpec, got {type(spec).__name__}")
    if spec.name in _SPECS:
        if _SPECS[spec.name] is spec:
            return spec
        raise ValueError(f"a task named {spec.name!r} is already registered; unregister({spec.name!r}) first")
    if spec.alias_of is not None:
        if spec.alias_of not in _SPECS:
            raise ValueError(f"task {spec.name!r} is another name for {spec.alias_of!r}, which is not registered")
    else:
        for other in _SPECS.values():
            if other.alias_of is None and (other.serves(_probe(spec)) or spec.serves(_probe(other))):
                raise ValueError(f"task {spec.name!r}: data_source {spec.data_source!r} overlaps that of task "
                                 f"{other.name!r} ({other.data_source!r}); rows must name one task")
    presets = {preset: other.name for other in _SPECS.values() for preset in other.trainable}
    clashes = sorted(set(spec.trainable) & set(presets))
    if clashes:
        raise ValueError(f"task {spec.name!r}: --task preset(s) {clashes} are already offered by "
                         f"{', '.join(sorted({presets[c] for c in clashes}))}")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> TaskSpec:
    """Remove the task ``name`` (and its aliases) from the registry; returns its spec."""
    if name not in _SPECS:
        raise ValueError(f"no task named {name!r} is registered")
    spec = _SPECS.pop(name)
    for alias in [other.name for other in _SPECS.values() if other.alias_of == name]:
        del _SPECS[alias]
    return spec


def _known() -> str:
    """The registered names, and the ``NAME/<what>`` forms, for messages."""
    variants = [f"{spec.name}/<{spec.variant.what}>" for spec in _SPECS.values()
                if spec.variant is not None and spec.alias_of is None]
    return ", ".join(_SPECS) + (f" (and {', '.join(variants)})" if variants else "")


def lookup(name: str) -> tuple[TaskSpec, str | None]:
    """The spec of task ``name`` and the variant it names (``"puzzles/chain_sum"`` -> puzzles, ``"chain_sum"``).

    ``ValueError`` listing the known tasks if there is none.
    """
    if isinstance(name, str):
        if name in _SPECS:
            return _SPECS[name], None
        head, slash, variant = name.partition("/")
        spec = _SPECS.get(head)
        if slash and variant and spec is not None and spec.variant is not None:
            return spec, variant
    raise ValueError(f"unknown task {name!r}; known tasks: {_known()}")


def get_task(name: str, **options: Any) -> Task:
    """The task registered as ``name``, built with ``options`` (``get_task("maze", sizes=(7, 9))``).

    ``NAME/<variant>`` builds a version of a task that has them (``"puzzles/chain_sum"``: the puzzles
    task restricted to one reasoning-gym data set). A missing extra is a :class:`MissingExtraError`.
    """
    spec, variant = lookup(name)
    if variant is not None:
        options = spec.variant.options(variant, options)
    return spec(**options)


def require_extra(task: str | TaskSpec) -> None:
    """Raise :class:`MissingExtraError` unless the optional dependency of ``task`` (a name or a spec) imports.

    A name that is not registered needs nothing.
    """
    if isinstance(task, TaskSpec):
        spec = task
    else:
        spec = _SPECS.get(str(task).partition("/")[0])
        if spec is None:
            return
    if spec.extra is not None:
        spec.extra.require(spec.name)


def spec_for_source(data_source: Any) -> TaskSpec:
    """The task whose rows carry ``data_source``; ``ValueError`` (a configuration error) if none does."""
    for spec in _SPECS.values():
        if spec.alias_of is None and spec.serves(data_source):
            return spec
    def shown(spec: TaskSpec) -> str:
        return spec.data_source + (f"<{spec.variant.what if spec.variant else 'name'}>" if spec.is_family else "")

    known = ", ".join(shown(spec) for spec in _SPECS.values() if spec.alias_of is None)
    raise ValueError(f"no passkrl reward function for data_source {data_source!r}; known: {known}")


def data_source_of(name: str) -> str:
    """The ``data_source`` of the rows of task ``name`` (``"puzzles/chain_sum"`` -> ``"passkrl/puzzles/chain_sum"``).

    ``ValueError`` for an unknown task, and for a family named without its member (``"puzzles"``).
    """
    spec, variant = lookup(name)
    if spec.is_family:
        if variant is None:
            what = spec.variant.what if spec.variant is not None else "name"
            raise ValueError(f"the rows of task {name!r} have one data_source per {what}: name one, "
                             f"'{spec.alias_of or spec.name}/<{what}>'")
        return spec.data_source + variant
    return spec.data_source


__all__ = ["TASKS", "BatchScorer", "DataCommand", "Extra", "MissingExtraError", "RowScorer", "TaskSpec",
           "TrainPreset", "Variant", "data_source_of", "get_task", "lookup", "merge_options", "register",
           "require_extra", "spec_for_source", "unregister"]
