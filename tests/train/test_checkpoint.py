"""Checkpoints: model, optimiser, step and extras written whole (or not at all) and read back, damage named."""

from __future__ import annotations

import pytest
import torch

from passkrl.train import checkpoint as ckpt


def _model_and_optimizer() -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()  # the optimiser has state to save
    return model, optimizer


def test_a_checkpoint_round_trips_model_optimizer_step_and_extras(tmp_path):
    assert ckpt.load_latest(tmp_path) is None  # a run without one yet
    model, optimizer = _model_and_optimizer()
    ckpt.save(tmp_path, 7, model, optimizer, {"before": {"pass@1": 0.25}})
    state = ckpt.load_latest(tmp_path)
    assert state["step"] == 7 and state["format"] == ckpt.FORMAT and state["extra"] == {"before": {"pass@1": 0.25}}
    copy = torch.nn.Linear(3, 2)
    copy.load_state_dict(state["model"])
    assert all(torch.equal(a, b) for a, b in zip(copy.parameters(), model.parameters()))
    copy_optimizer = torch.optim.AdamW(copy.parameters(), lr=0.1)
    copy_optimizer.load_state_dict(state["optimizer"])
    assert copy_optimizer.state_dict()["state"][0]["step"] == optimizer.state_dict()["state"][0]["step"]
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]


def test_a_save_that_fails_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model, optimizer = _model_and_optimizer()
    ckpt.save(tmp_path, 1, model, optimizer, {})

    def crash(state, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(tmp_path, 2, model, optimizer, {})
    monkeypatch.undo()
    assert ckpt.load_latest(tmp_path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [ckpt.CHECKPOINT]  # no temporary file left behind


def test_a_damaged_or_foreign_file_is_a_clear_error(tmp_path):
    (tmp_path / ckpt.CHECKPOINT).write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match=r"checkpoint '.*checkpoint\.pt' is unreadable .*delete it to restart"):
        ckpt.load_latest(tmp_path)
    torch.save({"weights": 1}, tmp_path / ckpt.CHECKPOINT)
    with pytest.raises(ValueError, match=r"is not a passkrl checkpoint \(format 1\)"):
        ckpt.load_latest(tmp_path)
