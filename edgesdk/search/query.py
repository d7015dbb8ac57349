"""Queries over stored search codes (docs/latent-search.md, "Queries").

A query is predicates on code components joined by ``and`` (``face and brightness < 0.3``),
an example to find the nearest codes of, or both: the predicates select, the example orders.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass

import numpy as np

from edgesdk.errors import InvalidArgumentError

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
PRESENT = 0.5  # a bare component ("face") means component > 0.5; "not face" means <= 0.5
MAX_RESULTS = 4096
_TERM = re.compile(r"\s*(?:(not)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:(<=|>=|<|>)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?))?\s*",
                   re.IGNORECASE)


@dataclass(frozen=True)
class Predicate:
    """``component op value`` on one code component."""

    component: int
    name: str
    op: str
    value: float

    def select(self, codes: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of ``codes`` [n, K] that satisfy the predicate."""
        return OPERATORS[self.op](codes[:, self.component], np.float32(self.value))

    def __str__(self) -> str:
        return f"{self.name} {self.op} {self.value:g}"


def parse_query(text: str, names: tuple[str, ...] | list[str]) -> list[Predicate]:
    """Predicates of a query such as ``"face and brightness < 0.3"`` over components ``names``;
    InvalidArgumentError saying what is wrong and what is allowed."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgumentError("empty query; write predicates such as 'face and brightness < 0.3'")
    predicates = []
    for term in re.split(r"\s+and\s+|\s*,\s*", text.strip(), flags=re.IGNORECASE):
        match = _TERM.fullmatch(term)
        if match is None:
            raise InvalidArgumentError(f"cannot read {term!r} in the query; write NAME, not NAME, or NAME OP NUMBER "
                                       f"with OP one of < <= > >= (components: {', '.join(names)})")
        negated, name, op, value = match.groups()
        if name not in names:
            raise InvalidArgumentError(f"unknown component {name!r} in the query; the codes have {', '.join(names)}")
        if op is None:
            op, value = ("<=" if negated else ">"), PRESENT
        elif negated:
            raise InvalidArgumentError(f"'not' goes with a bare component ('not face'), not with {term.strip()!r}")
        predicates.append(Predicate(list(names).index(name), name, op, float(value)))
    return predicates


def select(codes: np.ndarray, predicates: list[Predicate]) -> np.ndarray:
    """Row indexes of ``codes`` [n, K] that satisfy every predicate, ascending."""
    mask = np.ones(len(codes), bool)
    for predicate in predicates:
        mask &= predicate.select(codes)
    return np.flatnonzero(mask)


def nearest(codes: np.ndarray, example: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(row indexes, L2 distances) of the ``k`` codes nearest ``example`` among ``rows`` (all
    when None), nearest first; ties by row (the stores' ranking rule,
    edgesdk.exchange.store_base.rank)."""
    from edgesdk.exchange.store_base import rank

    if not 1 <= k <= MAX_RESULTS:
        raise InvalidArgumentError(f"k must be in [1, {MAX_RESULTS}]")
    example = np.asarray(example, np.float32).reshape(-1)
    if example.shape[0] != codes.shape[1]:
        raise InvalidArgumentError(f"the example's code has {example.shape[0]} values, the stored codes {codes.shape[1]}")
    rows = np.arange(len(codes)) if rows is None else np.asarray(rows)
    order, distances = rank(rows, codes[rows], example, k)
    return rows[order], distances
