"""RAG as DOMAIN.md defines it, for both directions, at and around the boundaries."""

from decimal import Decimal as D

import pytest

from pam.outcomes.models import Aggregation, Direction
from pam.outcomes.rag import Rag, aggregate, rag_status


@pytest.mark.parametrize(
    ("actual", "expected"),
    [("100", Rag.GREEN), ("120", Rag.GREEN), ("90", Rag.AMBER), ("89.99", Rag.RED), ("0", Rag.RED)],
)
def test_higher_is_better(actual, expected):
    assert rag_status(D(actual), D("100"), Direction.HIGHER, D("10")) == expected


@pytest.mark.parametrize(
    ("actual", "expected"),
    [("10", Rag.GREEN), ("5", Rag.GREEN), ("11", Rag.AMBER), ("11.01", Rag.RED)],
)
def test_lower_is_better(actual, expected):
    assert rag_status(D(actual), D("10"), Direction.LOWER, D("10")) == expected


def test_no_target_or_no_actual_is_not_rated():
    assert rag_status(None, D("10"), Direction.HIGHER, D("10")) is None
    assert rag_status(D("10"), None, Direction.HIGHER, D("10")) is None


def test_a_zero_target_is_met_by_zero():
    assert rag_status(D("0"), D("0"), Direction.LOWER, D("10")) == Rag.GREEN
    assert rag_status(D("1"), D("0"), Direction.LOWER, D("10")) == Rag.RED


def test_aggregation_over_the_year():
    values = [D("10"), D("20"), None, D("30")]
    assert aggregate(values, Aggregation.SUM) == D("60")
    assert aggregate(values, Aggregation.AVERAGE) == D("20.00")
    assert aggregate(values, Aggregation.LATEST) == D("30")
    assert aggregate([None], Aggregation.SUM) is None
