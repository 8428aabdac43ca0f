"""The public estimator API (``passkrl.estimators``): the core's registry by name, listed and described.

The estimators themselves are tested against their definitions in ``tests/core/test_estimators.py`` and
``tests/core/test_shaping.py``; here, what this module adds: its names, its description and its example.
"""

from __future__ import annotations

import doctest

from passkrl import estimators
from passkrl.core import estimators as core_estimators


def test_the_public_names_are_the_core_registrys():
    for name in ("compute", "check_params", "lookup", "register", "REGISTRY", "Estimator", "Groups", "NoParams"):
        assert getattr(estimators, name) is getattr(core_estimators, name), name
    assert set(estimators.__all__) <= set(dir(estimators))


def test_names_are_every_registered_estimator_and_shaper_sorted():
    names = estimators.names()
    assert names == sorted(estimators.REGISTRY) and len(names) == len(set(names))
    assert {"grpo", "rloo", "passk_analytic", "pkpo", "combination", "adaptive_entropy"} <= set(names)


def test_describe_lists_each_estimator_with_its_parameters_inputs_and_summary():
    lines = estimators.describe().splitlines()
    assert [line.split()[0] for line in lines] == estimators.names()
    by_name = {line.split()[0]: line for line in lines}
    for name in estimators.names():
        record = estimators.REGISTRY[name]
        assert by_name[name].rstrip().endswith(record.summary)
        for field in record.param_names:
            assert field in by_name[name]
    assert "(passk, pass1, entropy: input)" in by_name["adaptive_entropy"]  # a declared input is named as one
    assert "(" not in by_name["grpo"].split(estimators.REGISTRY["grpo"].summary)[0]  # no parameters, no brackets


def test_the_modules_example_holds():
    result = doctest.testmod(estimators)
    assert result.attempted >= 3 and result.failed == 0
