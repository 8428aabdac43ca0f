"""Where a response's final answer is: the one extraction rule every task shares.

The paper's prompt (arXiv 2508.10751, Fig. 14) asks for the answer between ``<answer>`` tags; maths
models often write ``\\boxed{...}`` instead. :func:`extract_answer` takes the last complete
``<answer>`` block, else the last balanced ``\\boxed{}``; each task then checks what it found
(moves for the maze, math-verify for maths, reasoning-gym's scorer for puzzles).
"""

from __future__ import annotations

import re

_ANSWER_OPEN, _ANSWER_CLOSE, _BOXED = b"<answer>", b"</answer>", "\\boxed{"
_BRACE = re.compile(r"[{}]")  # a character class: no backtracking, linear scan


def extract_answer(response: str) -> str | None:
    r"""The text of the final answer of ``response``, or None.

    The last complete ``<answer> ... </answer>`` block (tags in any case; the content runs from the
    last ``<answer>`` before the last ``</answer>``), else the content of the last ``\boxed{...}``
    with balanced braces, else None. Linear time.
    """
    if not isinstance(response, str):
        return None
    # bytes.lower() changes ASCII letters only, so offsets stay valid (str.lower() can change the
    # length of a string: "İ".lower() has two code points). surrogatepass keeps lone surrogates.
    raw = response.encode("utf-8", "surrogatepass")
    lowered = raw.lower()
    close = lowered.rfind(_ANSWER_CLOSE)
    if close >= 0:
        open_ = lowered.rfind(_ANSWER_OPEN, 0, close)
        if open_ >= 0:
            return raw[open_ + len(_ANSWER_OPEN):close].decode("utf-8", "surrogatepass")
    boxed = response.rfind(_BOXED)
    if boxed >= 0:
        depth = 1
        begin = boxed + len(_BOXED)
        for brace in _BRACE.finditer(response, begin):
            depth += 1 if brace.group() == "{" else -1
            if depth == 0:
                return response[begin:brace.start()]
    return None
