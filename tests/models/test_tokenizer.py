"""The character tokenizer: ids 0-2 are PAD, BOS and EOS, one id per character after them, EOS ends a decode."""

from __future__ import annotations

import pytest

from passkrl.models.tokenizer import SPECIALS, CharTokenizer


def test_each_character_has_its_own_id_after_the_three_specials():
    tokenizer = CharTokenizer("ab/")
    assert (tokenizer.pad_id, tokenizer.bos_id, tokenizer.eos_id) == (0, 1, 2) and len(SPECIALS) == 3
    assert tokenizer.vocab_size == 6
    assert tokenizer.encode("ba/") == [4, 3, 5]
    assert tokenizer.encode("") == []


def test_decode_skips_pad_and_bos_and_stops_at_the_first_eos():
    tokenizer = CharTokenizer("xyz")
    assert tokenizer.decode(tokenizer.encode("zyx")) == "zyx"
    assert tokenizer.decode([0, 1, 3, 0, 4, 2, 5, 5]) == "xy"
    import torch

    assert tokenizer.decode(torch.tensor([1, 5, 5, 2])) == "zz"  # tensors of ids too


def test_unknown_characters_and_bad_alphabets_are_refused():
    tokenizer = CharTokenizer("01")
    with pytest.raises(ValueError, match=r"character '2' at position 3 is not in the alphabet '01'"):
        tokenizer.encode("0102")
    for alphabet in ("", "aba"):
        with pytest.raises(ValueError, match="non-empty with distinct characters"):
            CharTokenizer(alphabet)


def test_a_tokenizer_round_trips_through_its_dict():
    tokenizer = CharTokenizer("LRUD")
    assert CharTokenizer.from_dict(tokenizer.to_dict()) == tokenizer
    assert tokenizer.to_dict() == {"alphabet": "LRUD"}
