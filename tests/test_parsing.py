"""Option values written as text: one JSON-object parser, one integer-list parser, errors naming both."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passkrl.parsing import int_list, json_object


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=8))
def test_int_list_round_trips_comma_text_and_sequences(values):
    assert int_list(",".join(map(str, values)), "--k") == tuple(values)
    assert int_list(values, "--k") == tuple(values)


@pytest.mark.parametrize("text, message", [
    ("", "--sizes: no values given in ''"), ("7,,9", "--sizes: '' is not an integer"),
    ("7,x", "--sizes: 'x' is not an integer"), ("7,8", r"--sizes: must be odd, got '8' \(in '7,8'\)"),
])
def test_int_list_errors_name_the_option_and_the_value(text, message):
    with pytest.raises(ValueError, match=message):
        int_list(text, "--sizes", check=lambda v: "must be odd" if v % 2 == 0 else None)


def test_json_object_accepts_dicts_blank_and_json_text_only():
    assert json_object(None, "--o") == {} == json_object("  ", "--o")
    assert json_object('{"a": 1}', "--o") == {"a": 1} == json_object({"a": 1}, "--o")
    with pytest.raises(ValueError, match=r"--o is not valid JSON .*'\{a'"):
        json_object("{a", "--o")
    with pytest.raises(ValueError, match=r"--o must be a JSON object with string keys, got \[1\]"):
        json_object("[1]", "--o")
