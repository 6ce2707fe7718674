"""Scenario texts shared by the orbit tests."""

ISS_TWO_STATIONS = """
[time]
start = "2026-06-08T00:00:00Z"
duration = "{duration}"
step = "{step}"

[[satellites]]
name = "ISS"

[[ground_stations]]
name = "Tenerife"

[[ground_stations]]
name = "Graz"

[constraints]
elevation_mask_deg = {mask}
"""


def iss_two_stations(duration="2 d", step="1 s", mask=10):
    return ISS_TWO_STATIONS.format(duration=duration, step=step, mask=mask)
