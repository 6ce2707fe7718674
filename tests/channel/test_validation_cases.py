import importlib
import math

from qsat.validation import _REGISTRY, evaluate


def channel_cases():
    # only this topic's module: other topics' modules may be mid-development
    importlib.import_module("qsat.validation.channel")
    return [c for c in _REGISTRY.values() if c.topic == "channel"]


def test_channel_cases_evaluate():
    cases = channel_cases()
    assert len(cases) >= 15
    ids = {c.id for c in cases}
    for needed in ("channel.hv_r0_v21", "channel.hv57_isoplanatic_angle", "channel.kasten_young_el0",
                   "channel.liao2017_loss_645km", "channel.yin2017_downlink_increase"):
        assert needed in ids
    for c in cases:
        o = evaluate(c)
        assert o.status in ("reproduced", "not reproduced", "gap")
        if o.status != "gap":
            assert math.isfinite(o.computed), c.id
        if o.status == "not reproduced":
            assert c.note, f"{c.id} does not reproduce and says nothing about why"


def test_hv57_and_kasten_young_reproduce():
    by_id = {c.id: evaluate(c) for c in channel_cases()}
    assert by_id["channel.hv_r0_v21"].status == "reproduced"
    assert all(by_id[f"channel.kasten_young_el{e}"].status == "reproduced" for e in ("0", "1", "5", "10"))
