"""Tests of ``search/measures.py`` beyond the distances (``test_geo.py``)."""

from __future__ import annotations

import pytest
from directory_search import measures
from directory_search.measures import minutes


def test_minutes_remembers_valid_times_and_still_refuses_bad_ones(monkeypatch):
    """Remembered times give the same minutes as parsed ones; a bad value raises every
    time (nothing wrong is remembered), and the memory stays bounded."""
    monkeypatch.setattr(measures, "_MINUTES", {})
    monkeypatch.setattr(measures, "_MINUTES_MAX", 3)
    assert [minutes(v) for v in ("09:30", "9:30", " 23:59 ", "09:30")] == [570, 570, 1439, 570]
    assert measures._MINUTES == {"09:30": 570, "9:30": 570, " 23:59 ": 1439}
    assert minutes("00:00") == 0 and "00:00" not in measures._MINUTES  # full: parsed
    for bad in ("24:00", "12:60", "noon", "", "1230"):
        for _ in range(2):
            with pytest.raises(ValueError, match="not a time of day"):
                minutes(bad)
    with pytest.raises(ValueError, match="not a time of day"):
        minutes(930)  # type: ignore[arg-type]
    assert len(measures._MINUTES) == 3
