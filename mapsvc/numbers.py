"""Numbers a request's JSON gives: a number, or one written as text ("5"), but never true or
false, which pydantic would take for 1 and 0 (a case merged into case 1, household 1 visited,
a point at longitude 1)."""

from typing import Annotated

from pydantic import BeforeValidator


def _not_true_or_false(value):
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Number = Annotated[float, BeforeValidator(_not_true_or_false)]
Whole = Annotated[int, BeforeValidator(_not_true_or_false)]
