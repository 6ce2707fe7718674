from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "ephemerides" / "reference"


@pytest.fixture
def satquma_csv() -> Path:
    return DATA / "satquma_FS_loss_XI0.csv"
