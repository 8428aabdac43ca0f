"""A character tokenizer with PAD, BOS and EOS."""

from __future__ import annotations

from dataclasses import dataclass

SPECIALS = ("<pad>", "<bos>", "<eos>")


@dataclass(frozen=True)
class CharTokenizer:
    """One token per character of ``alphabet``; ids 0, 1, 2 are PAD, BOS and EOS."""

    alphabet: str

    def __post_init__(self):
        if len(set(self.alphabet)) != len(self.alphabet) or not self.alphabet:
            raise ValueError(f"alphabet must be non-empty with distinct characters, got {self.alphabet!r}")

    pad_id = 0
    bos_id = 1
    eos_id = 2

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.alphabet)

    def encode(self, text: str) -> list[int]:
        ids = []
        for position, char in enumerate(text):
            index = self.alphabet.find(char)
            if index < 0:
                raise ValueError(f"character {char!r} at position {position} is not in the alphabet {self.alphabet!r}")
            ids.append(index + len(SPECIALS))
        return ids

    def decode(self, ids) -> str:
        """Characters up to the first EOS; PAD and BOS are skipped."""
        chars = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i >= len(SPECIALS):
                chars.append(self.alphabet[i - len(SPECIALS)])
        return "".join(chars)

    def to_dict(self) -> dict:
        return {"alphabet": self.alphabet}

    @classmethod
    def from_dict(cls, data: dict) -> CharTokenizer:
        return cls(data["alphabet"])
