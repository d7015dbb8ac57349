"""What every latent store built here shares: a context manager that closes it, ``put`` as
a batch of one (the LatentStore protocol, edgesdk/exchange/registry.py), and the search-code
protocol (docs/latent-search.md, "Storage"): component names kept in the store's settings,
``select_codes`` (predicates, storing order) and ``nearest_codes`` (predicates, then L2 order),
with the argument checks every store applies the same way."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from edgesdk.errors import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from edgesdk.exchange.records import FrameRecord

OPERATORS = ("<", "<=", ">", ">=")
MAX_NEAREST = 4096  # the most frames one nearest_codes call returns


class StoreBase:
    """Subclasses define ``put_many``, ``close`` and, to hold search codes, ``_setting``,
    ``set_feature_names``, ``select_codes`` and ``nearest_codes``."""

    def put_many(self, records: Iterable[FrameRecord]) -> int:  # pragma: no cover - defined by each store
        """Stores the frames in one transaction; returns how many were new."""
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - defined by each store
        """Closes the store; safe to call twice."""
        raise NotImplementedError

    def _setting(self, key: str, default: str) -> str:  # pragma: no cover - defined by each store
        raise NotImplementedError

    @property
    def label(self) -> str:
        """How messages name this store (a path, a table; never a password)."""
        return type(self).__name__

    def put(self, record: FrameRecord) -> bool:
        """Stores one frame; True if new, False if the same bytes were already stored
        (DuplicateFrameError if other bytes are)."""
        return self.put_many([record]) == 1

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Names of the feature vector's components (settings key ``feature_names``,
        docs/latent-search.md); () when unnamed."""
        names = self._setting("feature_names", "")
        return tuple(json.loads(names)) if names else ()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_names(names: Iterable[str], dimensions: int) -> list[str]:
    """The component names as strings, one per vector component (InvalidArgumentError if not)."""
    names = [str(name) for name in names]
    if len(names) != dimensions or len(set(names)) != len(names):
        raise InvalidArgumentError(f"give {dimensions} distinct names for {dimensions}-dimensional vectors, "
                                   f"not {len(names)}")
    return names


def check_conditions(conditions: Iterable[tuple[int, str, float]], dimensions: int) -> list[tuple[int, str, float]]:
    """(component, operator, value) triples checked, with each value rounded to float32 so it
    compares as the stored float32 components compare."""
    checked = []
    for condition in conditions:
        component, op, value = condition
        if op not in OPERATORS or not isinstance(component, (int, np.integer)) or not 0 <= component < dimensions:
            raise InvalidArgumentError(f"bad condition {tuple(condition)}: (component in [0, {dimensions}), "
                                       f"one of {' '.join(OPERATORS)}, number)")
        checked.append((int(component), op, float(np.float32(value))))
    return checked


def check_example(example, dimensions: int, k: int) -> np.ndarray:
    """The example's code as float32 [dimensions], and ``k`` in [1, MAX_NEAREST]."""
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_NEAREST:
        raise InvalidArgumentError(f"k must be in [1, {MAX_NEAREST}]")
    example = np.asarray(example, np.float32).reshape(-1)
    if example.shape[0] != dimensions:
        raise InvalidArgumentError(f"the example's code has {example.shape[0]} values, the stored codes {dimensions}")
    if not np.all(np.isfinite(example)):
        raise InvalidArgumentError("the example's code must be finite")
    return example


def tolerance(distance: float, dimensions: int) -> float:
    """How far a float32 L2 distance (pgvector's, vec0's) may be from the exact one between the
    same float32 vectors: candidates within it of the k-th are ranked again by :func:`rank`."""
    return 4.0 * max(dimensions, 1) * 2.0**-24 * distance + 1e-6


def rank(keys: np.ndarray, codes: np.ndarray, example: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, distances) of the ``k`` ``codes`` nearest ``example``, nearest first: the L2
    distance computed in float64 from the float32 values (exact enough that every store ranks
    alike), ties by ``keys`` (storing order). The one ranking rule of nearest_codes."""
    if not len(codes):
        return np.zeros(0, np.int64), np.zeros(0)
    difference = codes.astype(np.float64) - np.asarray(example, np.float32).astype(np.float64)
    distances = np.sqrt((difference * difference).sum(axis=1))
    order = np.lexsort((np.asarray(keys), distances))[:k]
    return order, distances[order]
