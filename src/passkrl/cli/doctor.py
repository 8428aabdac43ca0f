"""``passkrl doctor``: what is installed, and whether the engines see passkrl.

    passkrl doctor            # a table; exit 1 when an installed engine does not see passkrl
    passkrl doctor --json     # the same facts as JSON

For verl the checks run in a fresh interpreter, as a verl job would start: ``import verl`` must load
passkrl through verl's plugin entry points (``verl.plugins``) and register every passkrl estimator
in verl's advantage-estimator registry, and the wrapped verl functions (the entropy route and the
one-sample-per-agent-session collapse) must be in place once verl's trainer modules are imported.
verl logs plugin failures at DEBUG level only, so a broken plugin otherwise shows up later as
``Unknown advantage estimator``.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import subprocess
import sys
from typing import Any

import tyro

OPTIONAL = {
    "verl": "passkrl[verl]", "trl": "passkrl[trl]", "transformers": "passkrl[hf]", "datasets": "passkrl[trl]",
    "reasoning-gym": "passkrl[puzzles]", "math-verify": "passkrl[maths]", "pyarrow": "passkrl[parquet]",
}
"""Optional distributions and the extra that installs each."""

_VERL_PROBE = """
import json, sys
import verl
from verl.trainer.ppo import core_algos
import passkrl.integrations.verl as pv
registered = sorted(n for n in pv.VERL_NAMES if n in core_algos.ADV_ESTIMATOR_REGISTRY)
loaded_by_plugin = "passkrl.integrations.verl" in sys.modules
import verl.trainer.ppo.ray_trainer, verl.trainer.ppo.v1.utils
print(json.dumps({"registered": registered, "expected": sorted(pv.VERL_NAMES), "plugin": loaded_by_plugin,
                  "wrapped": pv.entropy_route()}))
"""

_VERL_PLUGIN_PROBE = "import sys, verl; print('passkrl.integrations.verl' in sys.modules)"


@dataclasses.dataclass(frozen=True)
class DoctorConfig:
    """Report the installed engines and optional packages, and check that verl and TRL see passkrl."""

    json: bool = False
    """Print the facts as JSON instead of a table."""


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_verl() -> dict[str, Any]:
    """The verl facts, from fresh interpreters (``ok`` is False with a ``problem`` when something is wrong)."""
    facts: dict[str, Any] = {"installed": _version("verl")}
    if facts["installed"] is None:
        return {**facts, "ok": None}
    entry_points = [ep.value for ep in importlib.metadata.entry_points(group="verl.plugins")]
    facts["entry_point"] = "passkrl.integrations.verl" in entry_points
    plugin = subprocess.run([sys.executable, "-c", _VERL_PLUGIN_PROBE], capture_output=True, text=True, timeout=300)
    facts["plugin_loaded_on_import_verl"] = plugin.returncode == 0 and plugin.stdout.strip().endswith("True")
    probe = subprocess.run([sys.executable, "-c", _VERL_PROBE], capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        tail = probe.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {**facts, "ok": False, "problem": f"importing passkrl's verl integration failed: {tail[0]}"}
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    facts["estimators_registered"] = f"{len(found['registered'])} / {len(found['expected'])}"
    facts["wrapped"] = found["wrapped"]
    problems = []
    if not facts["entry_point"]:
        problems.append("passkrl is not a verl plugin (reinstall passkrl: its 'verl.plugins' entry point is missing)")
    elif not facts["plugin_loaded_on_import_verl"]:
        problems.append("`import verl` did not load passkrl's plugin (verl logs why at DEBUG level); "
                        "add `import passkrl.integrations.verl` to your launcher")
    if found["registered"] != found["expected"]:
        problems.append(f"verl's registry lacks {sorted(set(found['expected']) - set(found['registered']))}")
    if not all(found["wrapped"].values()):
        problems.append(f"not wrapped: {[n for n, ok in found['wrapped'].items() if not ok]}")
    return {**facts, "ok": not problems, **({"problem": "; ".join(problems)} if problems else {})}


def check_trl() -> dict[str, Any]:
    facts: dict[str, Any] = {"installed": _version("trl")}
    if facts["installed"] is None:
        return {**facts, "ok": None}
    probe = subprocess.run([sys.executable, "-c", "import passkrl.integrations.trl"], capture_output=True,
                           text=True, timeout=300)
    if probe.returncode != 0:
        tail = probe.stderr.strip().splitlines()[-1:] or ["(no message)"]
        return {**facts, "ok": False, "problem": tail[0]}
    return {**facts, "ok": True}


def facts() -> dict[str, Any]:
    import torch

    from passkrl import __version__

    return {
        "passkrl": __version__, "python": platform.python_version(), "platform": platform.platform(),
        "torch": torch.__version__, "cuda": torch.cuda.is_available(),
        "optional": {name: _version(name) for name in OPTIONAL},
        "verl": check_verl(), "trl": check_trl(),
    }


def format_facts(found: dict[str, Any]) -> str:
    lines = [f"passkrl {found['passkrl']} | Python {found['python']} | torch {found['torch']} "
             f"({'CUDA available' if found['cuda'] else 'no CUDA device'}) | {found['platform']}", ""]
    lines.append("optional packages:")
    for name, version in found["optional"].items():
        shown = version or f'not installed (pip install "{OPTIONAL[name]}")'
        lines.append(f"  {name:<14} {shown}")
    for engine in ("verl", "trl"):
        info = found[engine]
        status = {None: "not installed", True: "ok", False: "PROBLEM"}[info["ok"]]
        lines.append(f"\n{engine}: {status}")
        for key, value in info.items():
            if key not in ("ok", "installed", "problem"):
                if isinstance(value, dict):
                    lines += [f"  {key}: {name} {'yes' if ok else 'NO'}" for name, ok in value.items()]
                else:
                    lines.append(f"  {key}: {value}")
        if info.get("problem"):
            lines.append(f"  problem: {info['problem']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    cfg = tyro.cli(DoctorConfig, args=argv, prog="passkrl doctor")
    found = facts()
    print(json.dumps(found, indent=2) if cfg.json else format_facts(found))
    return 1 if any(found[engine]["ok"] is False for engine in ("verl", "trl")) else 0
