"""Fixtures of the search tests: the shipped model with a hand-made feature identifier."""

from __future__ import annotations

import pytest

from search_helpers import picking_entry, picking_network


@pytest.fixture(scope="session")
def search_bundle(tmp_path_factory):
    """A folder bundle: the shipped model plus the picking identifier at quality 1."""
    from edgesdk.codecs.model import LITE_MODEL
    from edgesdk.search.identifier import attach_identifier

    destination = tmp_path_factory.mktemp("search") / "lite-search"
    return attach_identifier(LITE_MODEL, destination, 1, picking_network(), picking_entry())


@pytest.fixture(scope="session")
def search_codec(search_bundle):
    """An ImageCodec of that bundle at quality 1."""
    import edgesdk

    with edgesdk.ImageCodec(search_bundle, quality=1) as codec:
        yield codec
