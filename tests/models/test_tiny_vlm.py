"""The tiny offline Qwen2-VL: importable without transformers or torchvision. Building and training it
is the vision tier's (``tests/integrations/test_vision.py``, ``pytest -m vision``)."""

from __future__ import annotations

import subprocess
import sys


def _run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)


def test_the_module_imports_without_transformers_and_names_the_extras_to_install(tmp_path):
    target = tmp_path / "model"
    proc = _run("import sys; sys.modules['transformers'] = None\n"
                "from passkrl.models.tiny_vlm import save_tiny_vlm\n"
                f"try:\n    save_tiny_vlm({str(target)!r})\nexcept ImportError as err:\n    print(err)")
    assert proc.stdout.splitlines() == [
        'the tiny vision-language model needs transformers and torchvision: pip install "passkrl[hf,vision]"'
    ], proc.stderr
    assert not target.exists()  # refused before anything is written
    proc = _run("import sys, passkrl.models.tiny_vlm; print('transformers' in sys.modules, 'torchvision' in sys.modules)")
    assert proc.stdout.split() == ["False", "False"], proc.stderr
