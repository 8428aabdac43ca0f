"""Option values written as text: JSON objects and lists of integers, with one error format.

Every error names the option and the value (``--estimator-params is not valid JSON (...): '{x'``),
whichever command or config asks. Used by ``passkrl train`` (``--estimator-params``,
``--task-options``, ``--train-sizes``), ``passkrl data`` (``--options``, ``--sizes``),
``passkrl eval`` (``--k``) and TRL's ``PassKGRPOConfig`` (``passk_params``). Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def json_object(value: Any, option: str, *, example: str = '{"threshold": 0.6}') -> dict[str, Any]:
    """``value`` as a dict: a dict, ``None`` or blank text (empty), or the text of a JSON object."""
    if value is None:
        return {}
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{option} is not valid JSON ({err.msg}): {text!r}; write a JSON object such as "
                             f"'{example}'") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"{option} must be a JSON object with string keys, got {value!r}")
    return dict(value)


def int_list(text: Any, option: str, *, check: Callable[[int], str | None] | None = None,
             example: str = "7,9,11", what: str = "values") -> tuple[int, ...]:
    """``"7,9,11"`` (or a sequence of integers) -> ``(7, 9, 11)``.

    ``check(value)`` returns a complaint about one value (``"must be odd and >= 5"``) or None.
    """
    if isinstance(text, (list, tuple)):
        parts = [str(part) for part in text]
    else:
        parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError(f"{option}: no {what} given in {text!r}; expected e.g. {example}")
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise ValueError(f"{option}: {part!r} is not an integer (in {text!r}); expected e.g. {example}") from None
        complaint = check(value) if check is not None else None
        if complaint:
            raise ValueError(f"{option}: {complaint}, got {part!r} (in {text!r})")
        values.append(value)
    return tuple(values)
