"""The ``passkrl`` command line: every command is a module of this package.

Each sub-command (``passkrl.cli.<name>``) exposes ``main(argv: list[str]) -> int``; this file only
dispatches, and imports a sub-command's module when it is used so that ``passkrl --help`` is instant.
Shared option types are in :mod:`passkrl.parsing`. No library module imports this package.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("passkrl.cli.train", "Pass@k Training of a tiny model on the maze task (the main job)"),
    "eval": ("passkrl.cli.eval", "pass@k / max@k / maj@k with 95% intervals from a JSONL of samples"),
    "curves": ("passkrl.cli.curves", "advantage, eta and w(p) curves of the estimators against accuracy"),
    "data": ("passkrl.cli.data", "write a task's data set as JSONL or Parquet"),
    "report": ("passkrl.cli.report", "redraw the plots of a training run directory"),
    "doctor": ("passkrl.cli.doctor", "which engines are installed, and whether verl and TRL see passkrl"),
    "experiment": ("passkrl.cli.experiment", "reproduce the paper's findings: run a study, write a report"),
}


def _usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = ["usage: passkrl COMMAND [OPTIONS]", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Run `passkrl COMMAND --help` for the options of a command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from passkrl import __version__

        print(f"passkrl {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"passkrl: unknown command {name!r}; choose one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        # imported inside the try: a Ctrl-C during the seconds of torch's import ends as cleanly as later
        module = importlib.import_module(COMMANDS[name][0])
        return int(module.main(rest) or 0)
    except KeyboardInterrupt:
        print("passkrl: interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as err:
        # Bad input (or a path the system refuses: a file where a directory should be, a full disk):
        # one clear line, no traceback.
        print(f"passkrl {name}: error: {err}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"passkrl {name}: error: out of memory; ask for smaller sizes", file=sys.stderr)
        return 2
