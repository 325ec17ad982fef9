"""``collector_paused``: the cyclic garbage collector off inside, back to how it was after."""

from __future__ import annotations

import gc

import pytest

from assets.common.collector import collector_paused


def test_the_collector_is_off_inside_and_on_again_after_also_on_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_paused():
        assert not gc.isenabled()
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
