"""The registry answers 'what is there?', builds by name, and keeps renamed entries working."""
from __future__ import annotations

import pytest

from tim_bench_registry import HEADS, UnknownPluginError, build, lookup, register_rename


def test_build_fills_defaults_and_unknown_names_list_what_exists():
    head = build(HEADS, {"type": "LinearHead"}, in_dim=4, num_classes=3)
    assert head.fc.out_features == 3
    with pytest.raises(UnknownPluginError, match="Did you mean 'LinearHead'.*Registered head plugins: .*LinearHead"):
        lookup(HEADS, "LinaerHead")


def test_bad_arguments_name_the_component_and_keys():
    with pytest.raises(UnknownPluginError, match="Could not build head 'LinearHead' from config keys"):
        build(HEADS, {"type": "LinearHead", "width": 3}, in_dim=4, num_classes=3)


def test_a_renamed_entry_still_builds_with_a_warning():
    register_rename(HEADS, "TIMLinearHead", "LinearHead")
    with pytest.warns(DeprecationWarning, match="renamed to 'LinearHead'"):
        assert lookup(HEADS, "TIMLinearHead") is lookup(HEADS, "LinearHead")
