"""The local site the fetch tests download from (local_site.Site), started and stopped per test."""

from __future__ import annotations

import pytest
from local_site import Site


@pytest.fixture
def site():
    s = Site()
    yield s
    s.close()
