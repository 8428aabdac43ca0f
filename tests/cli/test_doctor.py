"""passkrl doctor: checked against the real verl and TRL installed in the test environment."""

from __future__ import annotations

import json

from passkrl.cli import main


def test_doctor_finds_both_engines_and_passkrl_inside_verl(capsys):
    assert main(["doctor", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    verl = found["verl"]
    assert verl["ok"] is True and verl["entry_point"] and verl["plugin_loaded_on_import_verl"]
    registered, expected = verl["estimators_registered"].split(" / ")
    assert registered == expected and int(expected) >= 15
    assert set(verl["wrapped"]) == {"verl.trainer.ppo.ray_trainer.compute_advantage",
                                    "verl.trainer.ppo.v1.utils.compute_advantage",
                                    "verl.trainer.ppo.v1.utils.compute_advantage_for_multi_trajectories"}
    assert all(verl["wrapped"].values())
    assert found["trl"]["ok"] is True and found["optional"]["trl"]


def test_doctor_table_names_each_engine(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "verl: ok" in out and "trl: ok" in out and "estimators_registered" in out
