r"""The one extraction rule every task shares: the last complete ``<answer>`` block, else the last balanced
``\boxed{}``."""

from __future__ import annotations

import pytest

from passkrl.tasks.answers import extract_answer


@pytest.mark.parametrize(("response", "answer"), [
    ("<answer> RRD </answer>", " RRD "),
    ("<answer>1</answer> then <answer>2</answer>", "2"),  # the last block
    ("<ANSWER>up</Answer>", "up"),  # tags in any case
    ("<answer>a <answer>b</answer>", "b"),  # from the last opening tag before the last closing one
    ("<answer>never closed", None),
    ("</answer> before <answer>", None),  # no opening tag before the closing one: no block
    (r"so \boxed{42}.", "42"),
    (r"\boxed{\frac{1}{2}} and \boxed{x^{2}}", "x^{2}"),  # the last, braces balanced
    (r"\boxed{\frac{1}{2}", None),  # unbalanced
    (r"<answer>7</answer> \boxed{8}", "7"),  # a block wins over a box
    ("", None),
    ("no answer at all", None),
])
def test_the_final_answer_of_a_response(response, answer):
    assert extract_answer(response) == answer


def test_offsets_survive_text_whose_lowercase_changes_length():
    # "İ".lower() is two code points; the tags are still found at the right place, the text kept as written.
    assert extract_answer("İİ <Answer>İx</answer>") == "İx"
    assert extract_answer("\ud800 <answer>ok</answer>") == "ok"  # a lone surrogate is carried, not an error


def test_anything_but_text_has_no_answer():
    for response in (None, 42, b"<answer>1</answer>", ["<answer>1</answer>"]):
        assert extract_answer(response) is None
