"""Run a study's warm-ups, Pass@1 phases and trainer runs as Ray tasks (``passkrl experiment STUDY --ray``).

The same work as :func:`passkrl.experiment.runner.execute`, done by the same worker functions
(:func:`~passkrl.experiment.runner._warm_up`, :func:`~passkrl.experiment.runner._train`), so a study gives
the same results on a Ray cluster as in local processes. Each warm-up, Pass@1 phase and run is one task
of one CPU (one torch thread); a Pass@1 phase waits for its warm-up, and a run for the warm-up and the
Pass@1 phase it starts from (Ray passes their results as task arguments), so no two tasks build the same
cache entry.

Files. With a filesystem shared by every node (the default), a run's task writes its directory
``OUT/runs/<run>`` directly; each task first checks that it sees a marker file the driver wrote there, and
fails at once, naming the node, if it does not. With ``ship=True`` (``--ray-ship``) a task trains in a
scratch directory on its node (``$TMPDIR/passkrl-ray``) and returns the run directory's files as bytes,
which the driver writes into ``OUT/runs/<run>`` (``eval.json`` last); a run the driver holds half-trained
is sent along and resumed. Either way the cache entries a warm-up or Pass@1 task builds are returned to
the driver and installed, where missing, in the cache of the node that runs a dependent task, so every
run starts from the very weights its warm-up task built, whether or not ``$PASSKRL_CACHE`` is shared.

Failures. A task whose worker process or node dies is retried by Ray (``max_retries``); the retry
resumes the run from its last checkpoint (on the shared filesystem, or in the scratch directory when it
lands on the same node), and the trainer's resume is bit-identical to an uninterrupted run. An
``OSError`` in a task is retried too; any other error is not (bad settings fail the same way every time).

Only the driver imports this module's Ray parts at run time: ``import passkrl.experiment.ray_executor``
works without Ray installed, and :func:`connect` says how to install it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passkrl.experiment.runner import RunSpec, _train, _warm_up
from passkrl.runs import RunDir

MAX_RETRIES = 3
"""Retries of a task whose worker or node was lost (or that raised an ``OSError``)."""
CONNECT_TIMEOUT_S = 5.0
"""How long :func:`connect` waits for a TCP answer from a cluster's address before calling it unreachable."""
VISIBLE_WAIT_S = 10.0
"""How long a task waits for the driver's marker file to appear (a network filesystem's cache may lag)."""
CLIENT_PORT = 10001
"""Ray Client's default port (``ray://HOST`` without a port)."""
GCS_PORT = 6379
"""A Ray head's default port (``HOST`` without a port)."""


# --------------------------------------------------------------------------------------------------
# Connecting
# --------------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    """A connection to a Ray cluster: ``cpus`` in the cluster; ``owned`` when :func:`connect` made it
    (then :meth:`close` disconnects, and stops the local instance it started)."""

    address: str | None
    cpus: int
    owned: bool

    def close(self) -> None:
        if self.owned:
            import ray

            ray.shutdown()


def _option(address: str | None) -> str:
    return "--ray" if address is None else f"--ray {address}"


def _host_port(address: str) -> tuple[str, int]:
    text, default = (address[len("ray://"):], CLIENT_PORT) if address.startswith("ray://") else (address, GCS_PORT)
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{_option(address)}: expected auto, HOST:PORT or ray://HOST:PORT, got {address!r}")
    return host, int(port)


def _resolve(address: str | None) -> str | None:
    """The cluster ``ray.init(address)`` would connect to (``None``: it would start a local instance)."""
    if address == "local":
        return None
    try:
        from ray._private.services import canonicalize_bootstrap_address
    except ImportError:  # a Ray without this helper: check the address as given
        return None if address in (None, "auto") else address
    if address is not None and address.startswith("ray://"):
        return address
    try:
        return canonicalize_bootstrap_address(address)
    except ConnectionError:
        raise ValueError(f"{_option(address)}: no running Ray cluster found on this machine; start one with "
                         "`ray start --head`, or give its address") from None
    except Exception as err:  # noqa: BLE001 - an address Ray cannot parse or resolve
        raise ValueError(f"{_option(address)}: {err}") from None


def _check_reachable(address: str | None, target: str) -> None:
    """A TCP connection to ``target`` within :data:`CONNECT_TIMEOUT_S`; ``ray.init`` itself would retry an
    unreachable address for minutes."""
    host, port = _host_port(target)
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        where = f"{host}:{port}" if address in (None, "auto") else address
        seen = " (the cluster recorded on this machine)" if address in (None, "auto") else ""
        raise ValueError(f"{_option(address)}: no Ray cluster answers at {where}{seen} "
                         f"({err.strerror or err}); start one with `ray start --head`, or give the address it printed"
                         ) from None


def connect(address: str | None = None) -> Cluster:
    """Connect to the Ray cluster at ``address`` (``"auto"``, ``HOST:PORT``, ``ray://HOST:PORT``), or with
    ``None`` do what ``ray.init()`` does: join the cluster of ``$RAY_ADDRESS`` or of ``ray start`` on this
    machine, else start a local instance on this machine's cores.

    Every failure is a one-line ``ValueError`` naming ``--ray`` and raised before anything is written.
    A process already connected to Ray keeps its connection (and :meth:`Cluster.close` leaves it open),
    provided it is the cluster ``address`` names.
    """
    if address is not None and not address.strip():
        raise ValueError("--ray: the address is empty; give auto, HOST:PORT or ray://HOST:PORT, or no value")
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'passkrl[ray]'") from None
    target = _resolve(address)
    if target is not None:
        _check_reachable(address, target)
    if ray.is_initialized():
        current = ray.get_runtime_context().gcs_address
        if target is not None and not target.startswith("ray://") and current != target:
            raise ValueError(f"{_option(address)}: this process is already connected to the Ray cluster at "
                             f"{current}")
        return Cluster(address=current, cpus=_cpus(), owned=False)
    import logging

    try:
        ray.init(address=address, logging_level=logging.WARNING)
    except Exception as err:  # noqa: BLE001 - version mismatch, refused authentication, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"{_option(address)}: could not connect to Ray: {first}") from None
    return Cluster(address=address, cpus=_cpus(), owned=True)


def _cpus() -> int:
    import ray

    return int(ray.cluster_resources().get("CPU", 0))


# --------------------------------------------------------------------------------------------------
# Work done in the Ray workers
# --------------------------------------------------------------------------------------------------


_PASSED = ("PASSKRL_CACHE",)
"""Variables a driver may set for its tasks; a task that is not given one has the node's own value."""
_NODE_ENV = {name: os.environ.get(name) for name in _PASSED}
"""The node's values, as the worker process started with them (this module is imported before any task runs)."""


def _use_env(env: dict[str, str]) -> None:
    """Workers are reused between tasks: set this task's variables, and the node's own for the rest."""
    for name in _PASSED:
        value = env.get(name, _NODE_ENV[name])
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _node() -> str:
    with contextlib.suppress(Exception):
        import ray

        return ray.util.get_node_ip_address()
    return socket.gethostname()


def _cache_entries(config: dict[str, Any], pass1: bool) -> dict[str, bytes]:
    """The cache files a warm-up (or, with ``pass1``, a Pass@1 phase) of ``config`` wrote, by file name."""
    from passkrl.train import pass1_phase, warmup
    from passkrl.train.config import TrainConfig

    cfg = TrainConfig.from_dict(config)
    if pass1:
        if not cfg.pass1_steps:
            return {}
        weights = pass1_phase.weights_path(cfg)
        paths = [weights.with_suffix(".json"), weights]
    else:
        paths = [warmup.curve_path(cfg), warmup.weights_path(cfg)]
    return {path.name: path.read_bytes() for path in paths if path.exists()}


def _install_cache_entries(stages: tuple[dict[str, Any], ...]) -> None:
    """Write the shipped cache entries this node's cache lacks (weights last: an entry with weights is complete)."""
    from passkrl.io import atomic_open
    from passkrl.train.warmup import cache_dir

    directory = cache_dir()
    for stage in stages:
        entries = sorted(stage.get("files", {}).items(), key=lambda item: item[0].endswith(".pt"))
        for name, data in entries:
            path = directory / name
            if path.exists():
                continue
            directory.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "wb") as handle:
                handle.write(data)


def ray_warm_up(config: dict[str, Any], env: dict[str, str], pass1: bool, *needs: dict[str, Any]) -> dict[str, Any]:
    """Task: :func:`runner._warm_up` (one thread), after installing the entries of the stages it ``needs``;
    returns its seconds and the cache entries it built or found."""
    _use_env(env)
    _install_cache_entries(needs)
    seconds = _warm_up(config, 1, pass1)
    return {"seconds": seconds, "files": _cache_entries(config, pass1), "node": _node()}


def _scratch_dir(run_dir: str) -> Path:
    """Where a shipped run trains on its node: one directory per driver-side run directory."""
    digest = hashlib.sha256(run_dir.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "passkrl-ray" / digest / Path(run_dir).name


def _files_of(path: Path) -> dict[str, bytes]:
    """A run directory's files (not its lock or temporaries), by name."""
    return {item.name: item.read_bytes() for item in sorted(path.iterdir())
            if item.is_file() and not item.name.startswith(".")}


def _wait_until_visible(marker: str) -> None:
    deadline = time.monotonic() + VISIBLE_WAIT_S
    directory = Path(marker).parent
    while True:
        with contextlib.suppress(OSError):
            os.listdir(directory)  # a fresh listing: a network filesystem revalidates the directory
        if Path(marker).exists():
            return
        if time.monotonic() > deadline:
            raise ValueError(f"{str(directory)!r} is not visible on Ray node {_node()}: --out must be on a filesystem "
                             "that every node of the cluster shares (or run with --ray-ship, which sends the runs "
                             "back to the driver)")
        time.sleep(0.5)


def ray_train(config: dict[str, Any], run_dir: str, env: dict[str, str], marker: str | None,
              partial: dict[str, bytes] | None, *needs: dict[str, Any]) -> dict[str, Any]:
    """Task: one trainer run by :func:`runner._train` (one thread), resumed if it has a checkpoint.

    ``marker``: the driver's marker file in ``OUT/runs`` (shared filesystem: the run is written in place).
    ``marker is None``: ship mode: train in this node's scratch directory, seeded with the driver's
    ``partial`` run if it has none of its own, and return the run's files.
    """
    _use_env(env)
    _install_cache_entries(needs)
    if marker is not None:
        _wait_until_visible(marker)
        where = Path(run_dir)
    else:
        where = _scratch_dir(run_dir)
        if partial and not RunDir(where).has_checkpoint:
            where.mkdir(parents=True, exist_ok=True)
            for name, data in partial.items():
                (where / name).write_bytes(data)
    resumed = RunDir(where).has_checkpoint
    seconds = _train(config, str(where), 1)
    result = {"seconds": seconds, "resumed": resumed, "node": _node(), "files": None}
    if marker is None:
        result["files"] = _files_of(where)
        shutil.rmtree(where, ignore_errors=True)
        with contextlib.suppress(OSError):  # the driver directory's folder, once it holds no run
            where.parent.rmdir()
    return result


# --------------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------------


def _ship_back(run_dir: Path, files: dict[str, bytes]) -> None:
    """Write a shipped run's files into ``run_dir``, ``eval.json`` (the mark of a finished run) last."""
    from passkrl.io import atomic_open

    run_dir.mkdir(parents=True, exist_ok=True)
    for name in sorted(files, key=lambda name: name == "eval.json"):
        with atomic_open(run_dir / name, "wb") as handle:
            handle.write(files[name])


def _task_error(err: Exception, what: str) -> Exception:
    """A task's ``ValueError`` (bad settings, an invisible ``--out``) as one line naming the task; other errors
    keep Ray's message and traceback."""
    import ray

    if isinstance(err, ray.exceptions.RayTaskError) and isinstance(err.cause, ValueError):
        return ValueError(f"{what}: {err.cause}")
    return err


def execute(
    specs: list[RunSpec],
    *,
    ship: bool = False,
    max_retries: int = MAX_RETRIES,
    on_done: Callable[[RunSpec, float], None] | None = None,
    log: Callable[[str], None] = print,
    on_warmups_done: Callable[[float], None] | None = None,
) -> dict[str, float]:
    """Run every unfinished spec as a Ray task on the connected cluster (see :func:`connect`); returns seconds
    spent per phase like :func:`runner.execute`: ``warmup_s`` until the last warm-up or Pass@1 task finished,
    ``train_s`` after it (runs whose warm-up was ready may already have been running).

    ``ship``: the workers do not see ``--out``; each run's files come back to the driver.
    """
    import ray

    from passkrl.train.pass1_phase import start_key
    from passkrl.train.warmup import cache_key

    pending = list({spec.run_dir: spec for spec in specs if not spec.finished}.values())  # equal settings: one run
    timing = {"warmup_s": 0.0, "train_s": 0.0}
    if not pending:
        return timing
    warmups = {}
    starts = {}
    for spec in pending:
        warmups.setdefault(cache_key(spec.config), spec.config)
        if spec.config.pass1_steps:
            starts.setdefault(start_key(spec.config), spec.config)
    env = {}
    if not ship and os.environ.get("PASSKRL_CACHE"):  # a shared cache; shipped runs use each node's own
        env["PASSKRL_CACHE"] = str(Path(os.environ["PASSKRL_CACHE"]).resolve())
    log(f"{len(pending)} run(s) to train ({len(specs) - len(pending)} already finished), "
        f"{len(warmups)} warm-up(s), {len(starts)} Pass@1 phase(s); Ray tasks of 1 CPU on "
        f"{int(ray.cluster_resources().get('CPU', 0))} CPU(s)"
        + ("; run directories shipped back to this machine" if ship else ""))

    options = {"num_cpus": 1, "max_retries": max_retries, "retry_exceptions": [OSError]}
    warm_task = ray.remote(ray_warm_up).options(**options)
    train_task = ray.remote(ray_train).options(**options)
    started = time.perf_counter()
    stage_refs: dict[Any, str] = {}
    warm_ref = {}
    for key, cfg in warmups.items():
        warm_ref[key] = warm_task.remote(cfg.to_dict(), env, False)
        stage_refs[warm_ref[key]] = f"warm-up {key}"
    start_ref = {}
    for key, cfg in starts.items():
        start_ref[key] = warm_task.remote(cfg.to_dict(), env, True, warm_ref[cache_key(cfg)])
        stage_refs[start_ref[key]] = f"Pass@1 phase {key}"

    # The marker a task must see to write its run in place (a filesystem shared with this driver).
    marker_name = f".ray-visible-{uuid.uuid4().hex}"
    runs_roots = {spec.run_dir.resolve().parent for spec in pending}
    if not ship:
        for root in runs_roots:
            root.mkdir(parents=True, exist_ok=True)
            (root / marker_name).write_text(f"{os.getpid()}\n")
    run_refs: dict[Any, RunSpec] = {}
    had_checkpoint: set[Path] = set()
    try:
        for spec in pending:
            run_dir = spec.run_dir.resolve()
            needs = [warm_ref[cache_key(spec.config)]]
            if spec.config.pass1_steps:
                needs.append(start_ref[start_key(spec.config)])
            if RunDir(run_dir).has_checkpoint:
                had_checkpoint.add(spec.run_dir)
            partial = _files_of(run_dir) if ship and spec.run_dir in had_checkpoint else None
            run_marker = None if ship else str(run_dir.parent / marker_name)
            ref = train_task.remote(spec.config.to_dict(), str(run_dir), env, run_marker, partial, *needs)
            run_refs[ref] = spec

        waiting = [*stage_refs, *run_refs]
        stages_left = len(stage_refs)
        train_started = None
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1, timeout=1.0)  # a timeout keeps Ctrl-C prompt
            if not done:
                continue
            ref = done[0]
            if ref in stage_refs:
                try:
                    ray.get(ref)
                except Exception as err:
                    raise _task_error(err, stage_refs[ref]) from None
                stages_left -= 1
                if not stages_left:
                    timing["warmup_s"] = time.perf_counter() - started
                    train_started = time.perf_counter()
                    if on_warmups_done is not None:
                        on_warmups_done(timing["warmup_s"])
                continue
            spec = run_refs[ref]
            try:
                result = ray.get(ref)
            except Exception as err:
                raise _task_error(err, f"run {spec.run_dir.name}") from None
            if result["files"] is not None:
                _ship_back(spec.run_dir, result["files"])
            if result["resumed"]:
                again = "" if spec.run_dir in had_checkpoint else " after an interrupted attempt"
                log(f"{spec.run_dir.name}: resumed from its checkpoint on {result['node']}{again}")
            if on_done is not None:
                on_done(spec, result["seconds"])
        timing["train_s"] = time.perf_counter() - (train_started or started)
    except BaseException:
        # Ctrl-C or a failed task: stop every task still running (their runs resume from their checkpoints).
        for ref in [*stage_refs, *run_refs]:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        if not ship:
            for root in runs_roots:
                with contextlib.suppress(OSError):
                    (root / marker_name).unlink()
    return timing
