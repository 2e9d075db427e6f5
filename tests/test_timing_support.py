"""The linearity check the hostile-input tests rely on (tests/support/timing.py) still fails a
quadratic after its second look."""
from __future__ import annotations

import pytest

from tests.support.timing import assert_linear


def test_a_quadratic_fails_the_linearity_check_even_after_its_second_look() -> None:
    with pytest.raises(AssertionError):
        assert_linear(lambda n: sum(i ^ j for i in range(n) for j in range(n)), 300)
