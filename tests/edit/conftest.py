"""Fixtures of the edit tests: the shipped model with its shipped edit maps at quality 2."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def edit_codec(tmp_path_factory):
    """An ImageCodec at quality 2 of a folder bundle: the shipped model plus lite.edit-q2."""
    import edgesdk
    from edgesdk.codecs.model import LITE_MODEL
    from edgesdk.edit.maps import attach_edit_maps

    bundle = attach_edit_maps(LITE_MODEL, tmp_path_factory.mktemp("edit") / "lite-edit", 2)
    with edgesdk.ImageCodec(bundle, quality=2) as codec:
        yield codec
