"""Hard time limits for scorers: run a function in a child process that can be killed.

A reward function is called on raw model output, and some verifiers do real work on it: math-verify
parses the answer into a sympy expression and simplifies it, several reasoning-gym scorers call
``sympy.parse_expr`` on it. A policy that writes ``9**9**9`` or ``10^{10^{10^{10}}}`` then asks
sympy for an integer with hundreds of millions of digits, and training stops.

math-verify has a time limit of its own (``parse(..., parsing_timeout=...)``,
``verify(..., timeout_seconds=...)``), built on ``signal.alarm``. It does not fit a trainer:

* ``signal`` only works in the main thread of the main interpreter; called from any other thread
  (verl's and TRL's reward workers, a ``ThreadPoolExecutor``) math-verify raises ``ValueError``;
* ``signal.alarm`` counts whole seconds;
* a Python signal handler only runs between bytecodes, so it cannot interrupt one long C call such
  as ``int.__pow__`` with a huge exponent: the "timeout" fires after the call has finished.

This module gives a limit that holds everywhere: the function runs in a persistent child process
(started with :mod:`subprocess`, so it works in threads, in daemonic ``multiprocessing`` workers
and in Ray actors alike); the parent waits on a pipe with ``poll`` and, when the limit passes,
kills the child with ``SIGKILL``; a spare child, started and warmed up in the background, takes its
place at once, so the next call does not pay for a restart. A child's start-up (interpreter,
imports) is never counted against a call. Children ignore ``SIGINT`` and live in their
own session, so Ctrl-C in a terminal reaches only the trainer, and they exit when the parent goes
away (their request pipe reaches end of file). A process that forks (a data-loader worker) starts
its own children instead of sharing its parent's. POSIX only.

Usage::

    pool = shared_pool()
    results = pool.map("passkrl.tasks.maths:verify_answer", [(gold, answer), ...], timeout_s=3, workers=4)

Each result is the function's return value, or a :class:`CallFailed` (timeout, exception, crash):
one bad call never costs the others their results. Results come back in the order of the
arguments whatever the number of workers, so parallel scoring equals serial scoring.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HEADER = struct.Struct(">Q")  # message length in bytes, then the pickled message
STARTUP_TIMEOUT_S = 120.0
"""How long a new child may take to start (interpreter and imports); not counted against a call."""


@dataclass(frozen=True)
class CallFailed:
    """What :meth:`IsolatedWorker.call` returns instead of a result: ``kind`` is ``"timeout"``,
    ``"error"`` (the function raised; ``message`` names the exception) or ``"crash"`` (the child
    died, e.g. out of memory)."""

    kind: str
    message: str = ""


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    if not module or not name:
        raise ValueError(f"function path must be 'module:function', got {path!r}")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _write_message(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes | None:
    """``n`` bytes from ``fd``; None on end of file; ``TimeoutError`` once ``deadline`` passes."""
    chunks, remaining = [], n
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError
            poller = select.poll()  # poll, not select: no limit on the descriptor's number
            poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            if not poller.poll(max(1, int(wait * 1000))):
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_message(fd: int, deadline: float | None) -> tuple[bool, Any]:
    """``(True, message)``, or ``(False, None)`` on end of file."""
    header = _read_exactly(fd, _HEADER.size, deadline)
    if header is None:
        return False, None
    body = _read_exactly(fd, _HEADER.unpack(header)[0], deadline)
    if body is None:
        return False, None
    return True, pickle.loads(body)


WARM_UP = "_child_warm_up"
"""A module may define a function of this name: a new child calls it (untimed) before the module's
first timed call, so lazy imports and caches are not charged to that call."""
_LOAD = "__load__"


def _load(module: str) -> None:
    warm_up = getattr(importlib.import_module(module), WARM_UP, None)
    if callable(warm_up):
        warm_up()


def serve(request_fd: int, reply_fd: int) -> None:
    """The child's loop: read ``(function path, args)``, reply ``("ok", result)`` or ``("error", text)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import logging

    # math-verify logs a warning for every timeout or parse failure; the parent decides what to report.
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    functions: dict[str, Callable[..., Any]] = {}
    _write_message(reply_fd, ("ready", os.getpid()))
    while True:
        alive, message = _read_message(request_fd, None)
        if not alive:
            return
        path, args = message
        try:
            if path == _LOAD:
                reply = ("ok", _load(*args))
            else:
                if path not in functions:
                    functions[path] = _resolve(path)
                reply = ("ok", functions[path](*args))
        except Exception as err:  # noqa: BLE001 - the function's failure is the caller's result, not the child's death
            reply = ("error", f"{type(err).__name__}: {str(err)[:500]}")
        try:
            _write_message(reply_fd, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as err:
            _write_message(reply_fd, ("error", f"unpicklable result: {type(err).__name__}"))


def _child_env() -> dict[str, str]:
    # The child must import passkrl even when the parent found it through sys.path tweaks.
    env = dict(os.environ)
    source_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([source_root, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]])
    return env


class _Child:
    """One scoring child process and the pipes to it."""

    def __init__(self, startup_timeout_s: float):
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        code = f"from passkrl.tasks.timeout import serve; serve({request_read}, {reply_write})"
        try:
            self.proc: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=(request_read, reply_write), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, env=_child_env(), start_new_session=True, close_fds=True,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        self.request_fd, self.reply_fd = request_write, reply_read
        self.loaded: set[str] = set()  # modules warmed up in this child
        try:
            alive, message = _read_message(self.reply_fd, time.monotonic() + startup_timeout_s)
        except TimeoutError:
            alive, message = False, None
        if not alive or not (isinstance(message, tuple) and message[0] == "ready"):
            self.kill()
            raise RuntimeError("the scoring child process did not start (is passkrl importable by "
                               f"{sys.executable}?)")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, function: str, args: tuple, timeout_s: float) -> tuple[bool, Any]:
        """``(alive, reply)``; ``TimeoutError`` once ``timeout_s`` passes."""
        _write_message(self.request_fd, (function, tuple(args)))
        return _read_message(self.reply_fd, time.monotonic() + float(timeout_s))

    def load(self, module: str, startup_timeout_s: float) -> bool:
        """Warm ``module`` up in this child (untimed for the caller); False if the child failed."""
        if module in self.loaded:
            return True
        try:
            alive, reply = self.request(_LOAD, (module,), startup_timeout_s)
        except (TimeoutError, OSError, pickle.UnpicklingError, EOFError):
            return False
        if alive and reply[0] == "ok":
            self.loaded.add(module)
            return True
        return False

    def kill(self) -> None:
        for fd in (self.request_fd, self.reply_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.request_fd = self.reply_fd = -1
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.proc = None

    def forget(self) -> None:
        """After a fork: close our copies of the pipes, leave the process to the parent."""
        for fd in (self.request_fd, self.reply_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.proc, self.request_fd, self.reply_fd = None, -1, -1


class IsolatedWorker:
    """Runs functions by name in a child process, which is killed when a call overruns.

    So that the call after a killed one does not pay for a new child (interpreter start and the
    imports of the scorer, a second or more for math-verify), the worker keeps a *spare* child warm
    in the background (started after the first call, with every module the active child has
    loaded); a kill promotes the spare at once and a new spare is prepared behind it. Every call
    then returns within its own ``timeout_s`` plus the time to kill a process.

    Not safe for concurrent use by several threads: :class:`WorkerPool` hands each worker to one
    thread at a time (the spare is only touched under its own lock).
    """

    def __init__(self, startup_timeout_s: float = STARTUP_TIMEOUT_S, keep_spare: bool = True):
        self.startup_timeout_s = float(startup_timeout_s)
        self.keep_spare = bool(keep_spare)
        self._active: _Child | None = None
        self._spare: _Child | None = None
        self._spare_lock = threading.Lock()
        self._spare_thread: threading.Thread | None = None
        self._modules: set[str] = set()  # every module a call has needed, for the spare to load
        self._owner_pid = os.getpid()
        self.n_restarts = 0

    # --- the spare
    def _prepare_spare(self) -> None:
        """Start (or top up) the spare child in a background thread."""
        if not self.keep_spare or (self._spare_thread is not None and self._spare_thread.is_alive()):
            return
        modules = set(self._modules)
        spare = self._spare
        if spare is not None and spare.alive and modules <= spare.loaded:
            return  # already warm for every module in use

        def prepare() -> None:
            with self._spare_lock:
                try:
                    if self._spare is None or not self._spare.alive:
                        self._spare = _Child(self.startup_timeout_s)
                    for module in sorted(modules):
                        self._spare.load(module, self.startup_timeout_s)
                except (RuntimeError, OSError):
                    self._spare = None  # the next promotion starts a child itself

        self._spare_thread = threading.Thread(target=prepare, name="passkrl-spare-scorer", daemon=True)
        self._spare_thread.start()

    def _take_spare(self) -> _Child | None:
        if self._spare_thread is not None:
            self._spare_thread.join()
        with self._spare_lock:
            spare, self._spare = self._spare, None
        return spare if spare is not None and spare.alive else None

    # --- calls
    def _forget_after_fork(self) -> None:
        # The child processes belong to the parent of a fork: drop them without touching them.
        for child in (self._active, self._spare):
            if child is not None:
                child.forget()
        self._active = self._spare = None
        self._spare_thread = None
        self._spare_lock = threading.Lock()
        self._owner_pid = os.getpid()

    @property
    def pid(self) -> int | None:
        """The current child's process id (None before the first call)."""
        return None if self._active is None or self._active.proc is None else self._active.proc.pid

    def call(self, function: str, args: tuple, timeout_s: float) -> Any:
        """``function(*args)`` in the child, or a :class:`CallFailed` after at most ``timeout_s`` seconds."""
        if os.getpid() != self._owner_pid:
            self._forget_after_fork()
        if self._active is None or not self._active.alive:
            if self._active is not None:
                self._active.kill()
            self._active = self._take_spare() or _Child(self.startup_timeout_s)
        module = function.partition(":")[0]
        self._modules.add(module)
        if not self._active.load(module, self.startup_timeout_s):
            self._restart()
            return CallFailed("error", f"cannot load module {module!r} in the scoring child")
        self._prepare_spare()
        try:
            alive, reply = self._active.request(function, args, timeout_s)
        except TimeoutError:
            self._restart()
            return CallFailed("timeout", f"no result within {timeout_s:g} s")
        except (OSError, pickle.UnpicklingError, EOFError) as err:
            self._restart()
            return CallFailed("crash", f"{type(err).__name__}: {err}")
        if not alive:
            self._restart()
            return CallFailed("crash", "the child process died")
        status, value = reply
        return value if status == "ok" else CallFailed("error", str(value))

    def _restart(self) -> None:
        """Kill the active child; the warm spare (if ready) takes its place for the next call."""
        if self._active is not None:
            self._active.kill()
        self._active = None
        self.n_restarts += 1
        if self.keep_spare:
            self._active = self._take_spare()
            self._prepare_spare()

    def close(self) -> None:
        if os.getpid() != self._owner_pid:
            self._forget_after_fork()
            return
        if self._spare_thread is not None:
            self._spare_thread.join()
        for child in (self._active, self._spare):
            if child is not None:
                child.kill()
        self._active = self._spare = None


class WorkerPool:
    """Up to ``max_workers`` :class:`IsolatedWorker` children, started when first needed; thread-safe."""

    def __init__(self, max_workers: int = 1):
        if max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {max_workers}")
        self.max_workers = int(max_workers)
        self._lock = threading.Lock()
        self._all: list[IsolatedWorker] = []
        self._idle: queue.LifoQueue[IsolatedWorker] = queue.LifoQueue()

    def _grow(self, n: int) -> None:
        with self._lock:
            self.max_workers = max(self.max_workers, n)
            while len(self._all) < n:
                worker = IsolatedWorker()
                self._all.append(worker)
                self._idle.put(worker)

    def call(self, function: str, args: tuple, timeout_s: float) -> Any:
        """One call on any idle worker (waits for one if all are busy)."""
        self._grow(1)
        worker = self._idle.get()
        try:
            return worker.call(function, args, timeout_s)
        finally:
            self._idle.put(worker)

    def map(self, function: str, args_list: Sequence[tuple], *, timeout_s: float, workers: int = 1) -> list[Any]:
        """``[function(*args) for args in args_list]`` on ``workers`` children at once, in order.

        Each call has its own limit of ``timeout_s`` seconds; a failed call gives a :class:`CallFailed`.
        """
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if not args_list:
            return []
        workers = min(int(workers), len(args_list))
        self._grow(workers)
        if workers == 1:
            return [self.call(function, args, timeout_s) for args in args_list]
        with ThreadPoolExecutor(max_workers=workers) as executor:
            # The threads only wait on pipes; the work happens in the children.
            return list(executor.map(lambda args: self.call(function, args, timeout_s), args_list))

    @property
    def n_restarts(self) -> int:
        """Children killed so far (timeouts and crashes)."""
        return sum(worker.n_restarts for worker in self._all)

    def close(self) -> None:
        with self._lock:
            for worker in self._all:
                worker.close()
            self._all.clear()
            self._idle = queue.LifoQueue()


_SHARED: WorkerPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool() -> WorkerPool:
    """The process-wide pool used by the scorers (children are stopped at exit)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = WorkerPool(1)
            atexit.register(_SHARED.close)
        return _SHARED
