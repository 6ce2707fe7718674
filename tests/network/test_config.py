"""[network] section: errors name the field, the value and what was expected."""

from __future__ import annotations

import pytest

from qsat.errors import QsatInputError
from qsat.network.config import check_references
from qsat.scenario import loads

BASE = """
[time]
start = "2024-01-01T00:00:00Z"
duration = "1 d"
[[satellites]]
name = "Micius"
[[ground_stations]]
name = "Xinglong"
[network]
[[network.nodes]]
name = "Beijing"
kind = "user"
"""


def _net(extra: str):
    s = loads(BASE + extra)
    return s.network


def test_fiber_link_to_unknown_node():
    net = _net('[[network.fiber_links]]\na = "Xinglong"\nb = "Pekin"\nlength = "100 km"\n')
    with pytest.raises(QsatInputError) as err:
        check_references(net, ["Xinglong"])
    assert err.value.field == "network.fiber_links[0].b" and err.value.value == "Pekin"
    assert "Beijing" in err.value.expected and "Xinglong" in err.value.expected


@pytest.mark.parametrize("text, field, expect", [
    ('[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = "-5 km"\n',
     "network.fiber_links[0].length", "non-negative length"),
    ('[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = "5 kg"\n',
     "network.fiber_links[0].length", "convertible to 'm'"),
    ('[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = 5e3\nloss_db_per_km = -0.2\n',
     "network.fiber_links[0].loss_db_per_km", "non-negative loss"),
    ('[[network.demands]]\na = "Xinglong"\nb = "Beijing"\nrate = "10 km"\n',
     "network.demands[0].rate", "convertible to bit/s"),
    ('[[network.demands]]\na = "Xinglong"\nb = "Beijing"\nrate = -1\n',
     "network.demands[0].rate", "non-negative key rate"),
    ('[[network.repeater_chains]]\na = "Xinglong"\nb = "Beijing"\nlength = "600 km"\nsegments = 3\n',
     "network.repeater_chains[0].segments", "power of two"),
    ('[network.weather]\nclear_sky = {Xinglong = [0.5, 0.5]}\n', "network.weather.clear_sky", "12 monthly"),
    ('[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = "5 km"\nlenght = 3\n',
     "network.fiber_links[0].lenght", "no such key"),
    ('[[network.qkd_systems]]\nname = "g"\nkey_protocol = "one-decoy-bb84"\n',
     "network.qkd_systems[0]", "[one_decoy] table"),
    ('[[network.qkd_systems]]\nname = "g"\n[network.qkd_systems.one_decoy]\n'
     'mean_photon_numbers = [0.5, 0.1]\nintensity_probabilities = [0.5, 0.5]\n',
     "network.qkd_systems[0]", "unless key_protocol"),
    ('[[network.qkd_systems]]\nname = "g"\nkey_protocol = "one-decoy-bb84"\n[network.qkd_systems.one_decoy]\n'
     'mean_photon_numbers = [0.1, 0.5]\nintensity_probabilities = [0.5, 0.5]\n',
     "network.qkd_systems[0].one_decoy.mean_photon_numbers", "mu1 > mu2 > 0"),
    ('[[network.qkd_systems]]\nname = "g"\nkey_protocol = "one-decoy-bb84"\n[network.qkd_systems.one_decoy]\n'
     'mean_photon_numbers = [0.5, 0.1]\nintensity_probabilities = [0.5, 0.6]\n',
     "network.qkd_systems[0].one_decoy.intensity_probabilities", "summing to 1"),
    ('[[network.qkd_systems]]\nname = "g"\nkey_protocol = "two-decoy"\n',
     "network.qkd_systems[0].key_protocol", "one-decoy-bb84"),
])
def test_bad_values(text, field, expect):
    with pytest.raises(QsatInputError) as err:
        _net(text)
    assert err.value.field == field and expect in err.value.expected


def test_units_are_converted():
    net = _net('[[network.demands]]\na = "Xinglong"\nb = "Beijing"\nrate = "86.4 Mbit/d"\n'
               '[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = "120 km"\n'
               'accumulation_time = "2 h"\nkey_rate = "2 kbit/s"\n')
    assert net.demands[0].rate == pytest.approx(1000.0)
    assert net.fiber_links[0].length == 120e3 and net.fiber_links[0].accumulation_time == 7200.0
    assert net.fiber_links[0].key_rate == pytest.approx(2000.0)
    assert check_references(net, ["Xinglong"]) == {"Xinglong": "station", "Beijing": "user"}


def test_unknown_system_and_demand_on_untrusted_node():
    net = _net('[[network.fiber_links]]\na = "Xinglong"\nb = "Beijing"\nlength = "1 km"\nsystem = "idq"\n')
    with pytest.raises(QsatInputError, match=r"fiber_links\[0\]\.system: idq"):
        check_references(net, ["Xinglong"])
    net = _net('[[network.nodes]]\nname = "Switch"\nkind = "untrusted"\n'
               '[[network.demands]]\na = "Switch"\nb = "Beijing"\nrate = 1\n')
    with pytest.raises(QsatInputError, match=r"demands\[0\]\.a: Switch"):
        check_references(net, ["Xinglong"])


def test_one_decoy_system_from_a_scenario():
    net = _net('[[network.qkd_systems]]\nname = "ull-2g5"\nkey_protocol = "one-decoy-bb84"\n'
               'detector_efficiency = 0.6\n[network.qkd_systems.protocol]\nrep_rate_hz = 2.5e9\n'
               'basis_probability_x = 0.8\ndark_count_probability = 1e-10\nintrinsic_qber = 0.004\n'
               'tail_bound = "hoeffding"\n[network.qkd_systems.one_decoy]\n'
               'mean_photon_numbers = [0.45, 0.17]\nintensity_probabilities = [0.6, 0.4]\n')
    system = net.system("ull-2g5")
    assert system.key_protocol == "one-decoy-bb84"
    assert system.one_decoy.mean_photon_numbers == [0.45, 0.17]
    assert net.system("default").key_protocol == "decoy-bb84" and net.system("default").one_decoy is None


def test_one_decoy_system_refuses_the_three_intensity_optimiser():
    with pytest.raises(QsatInputError) as err:
        _net('[[network.qkd_systems]]\nname = "g"\nkey_protocol = "one-decoy-bb84"\n'
             '[network.qkd_systems.protocol]\noptimize = true\n[network.qkd_systems.one_decoy]\n'
             'mean_photon_numbers = [0.5, 0.1]\nintensity_probabilities = [0.5, 0.5]\n')
    assert "protocol.optimize = false" in err.value.expected
