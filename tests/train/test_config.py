"""TrainConfig: typed size lists on the command line, unchanged text in config.json and cache keys, parsed once."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
import tyro

from passkrl.train import config as config_module
from passkrl.train.config import (
    RENAMED,
    TrainConfig,
    current_options,
    explicit_fields,
    field_name,
    hashed_name,
    hashed_settings,
    resolve,
)
from passkrl.train.warmup import cache_key
from tests.former_defaults import FORMER_DEFAULTS


def test_sizes_are_typed_tuples_from_commas_or_spaces():
    assert tyro.cli(TrainConfig, args=["--train-sizes", "7,9,11"]).train_sizes == (7, 9, 11)
    assert tyro.cli(TrainConfig, args=["--test-sizes", "7", "13"]).test_sizes == (7, 13)
    assert TrainConfig().train_sizes == (7,)


def test_sizes_as_text_or_lists_become_tuples_with_errors_naming_the_option():
    assert TrainConfig(train_sizes="9,11").train_sizes == (9, 11)
    assert dataclasses.replace(TrainConfig(), test_sizes=[7, 9]).test_sizes == (7, 9)
    with pytest.raises(ValueError, match=r"--train-sizes: 'x' is not an integer \(in '7,x'\)"):
        TrainConfig(train_sizes="7,x")


def test_config_files_and_cache_keys_keep_the_text_form():
    cfg = TrainConfig(**{**FORMER_DEFAULTS, "train_sizes": (9, 11)}, precision="float32")
    assert cfg.to_dict()["train_sizes"] == "9,11"
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    # The keys are made from the text "7,9" and "9,11" (they were d58e0b7c30523ba9 and 07dc37414a73cb8a before
    # sizes were typed, at cache version 2; version 3 is the training data that excludes the test pool too):
    assert cache_key(TrainConfig(**FORMER_DEFAULTS, precision="float32")) == "5557cef44921194d"
    assert cache_key(cfg) == "6857d2d0c40c53a0"


def test_estimator_params_are_parsed_once_and_each_caller_gets_its_own_dict(monkeypatch):
    parsed: list[str] = []
    real = config_module.json_object

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(config_module, "json_object", counting)
    cfg = TrainConfig(estimator_params='{"reduce": "mean"}')
    first = cfg.params()
    first["reduce"] = "changed by a caller"
    assert [cfg.params() for _ in range(3)] == [{"reduce": "mean"}] * 3  # as at every RL step
    assert parsed == ['{"reduce": "mean"}']
    # the config stays a plain value: equal to a fresh one, picklable, and a changed copy parses its own text
    assert cfg == TrainConfig(estimator_params='{"reduce": "mean"}')
    assert pickle.loads(pickle.dumps(cfg)).params() == {"reduce": "mean"}
    assert dataclasses.replace(cfg, estimator_params="{}").params() == {}
    assert cfg.to_dict()["estimator_params"] == '{"reduce": "mean"}' and "_params" not in cfg.to_dict()


def test_former_setting_names_keep_working_on_the_command_line_and_in_config_files():
    argv = ["--smoke", "--n-train-mazes", "300", "--n-test-mazes=8"]
    assert current_options(argv) == ["--smoke", "--n-train-problems", "300", "--n-test-problems=8"]
    assert explicit_fields(argv) == {"smoke", "n_train_problems", "n_test_problems"}
    cfg = resolve(tyro.cli(TrainConfig, args=current_options(argv)), explicit_fields(argv))
    assert (cfg.n_train_problems, cfg.n_test_problems) == (300, 8)  # given, so --smoke leaves them alone
    # a config.json written before the rename reads back as the same config
    old = {hashed_name(name): value for name, value in cfg.to_dict().items()}
    assert "n_train_mazes" in old and "n_train_problems" not in old
    assert TrainConfig.from_dict(old) == TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="names a setting twice: n_test_mazes and n_test_problems"):
        TrainConfig.from_dict({**cfg.to_dict(), "n_test_mazes": 8})
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({**cfg.to_dict(), "n_mazes": 8})


def test_renamed_settings_are_hashed_under_their_former_names():
    assert {field_name(former) for former in RENAMED} == {"n_train_problems", "n_test_problems"}
    assert hashed_name("n_test_problems") == "n_test_mazes" and hashed_name("d_model") == "d_model"
    assert hashed_settings(TrainConfig(n_train_problems=300, train_sizes=(7, 9)), ("n_train_problems", "train_sizes")) == {
        "n_train_mazes": "300", "train_sizes": "7,9"}
