"""Option values written as text: JSON objects and lists of integers, with one error format.

Every error names the option and the value (``--estimator-params is not valid JSON (...): '{x'``),
whichever command or config asks. Used by ``passkrl train`` (``--estimator-params``,
``--task-options``, ``--train-sizes``), ``passkrl data`` (``--options``, ``--sizes``),
``passkrl eval`` (``--k``) and TRL's ``PassKGRPOConfig`` (``passk_params``).

:data:`IntTuple` is the option type of an integer list: a ``tuple[int, ...]`` that tyro parses from
``--sizes 7,9,11`` or ``--sizes 7 9 11`` (the value is typed in the config; tyro's error names the
option and the value).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from tyro.constructors import PrimitiveConstructorSpec


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

    ``check(value)`` returns a complaint about one value (``"must be odd and >= 5"``) or None. Errors
    start with ``option`` (left out when it is empty, as tyro names the option itself).
    """
    prefix = f"{option}: " if option else ""
    if isinstance(text, (list, tuple)):
        parts = [str(part) for part in text]
    else:
        parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise ValueError(f"{prefix}no {what} given in {text!r}; expected e.g. {example}")
    values = []
    for part in parts:
        try:
            value = int(part)
        except ValueError:
            raise ValueError(f"{prefix}{part!r} is not an integer (in {text!r}); expected e.g. {example}") from None
        complaint = check(value) if check is not None else None
        if complaint:
            raise ValueError(f"{prefix}{complaint}, got {part!r} (in {text!r})")
        values.append(value)
    return tuple(values)


def ints_text(values: tuple[int, ...]) -> str:
    """``(7, 9, 11)`` -> ``"7,9,11"``: how an integer list is written in config files and cache keys."""
    return ",".join(str(v) for v in values)


def _ints_from_args(args: list[str]) -> tuple[int, ...]:
    return int_list(",".join(args), "")  # "7,9,11" (one argument) or "7 9 11" (three)


IntTuple = Annotated[tuple[int, ...], PrimitiveConstructorSpec(
    nargs="*",
    metavar="INT,INT,...",
    instance_from_str=_ints_from_args,
    is_instance=lambda value: isinstance(value, tuple) and all(isinstance(v, int) for v in value),
    str_from_instance=lambda value: [ints_text(value)],
)]
"""A typed integer list option: ``--sizes 7,9,11`` and ``--sizes 7 9 11`` both give ``(7, 9, 11)``."""

