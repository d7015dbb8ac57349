"""The codec-family registry keyed by the manifest's model.family."""

import pytest

import edgesdk
from edgesdk.codecs import codec_families, codec_family, register_codec_family
from edgesdk.codecs.image import MODEL_FAMILY


def test_the_shipped_model_is_a_registered_family():
    assert MODEL_FAMILY in codec_families()
    assert edgesdk.CodecModel.open().family == MODEL_FAMILY


def test_an_unknown_family_is_refused_and_a_registered_one_is_found():
    with pytest.raises(edgesdk.UnsupportedVersionError, match="'no-such-family' model"):
        codec_family("no-such-family")
    build = codec_family(MODEL_FAMILY)
    register_codec_family("family-test", build)
    try:
        assert codec_family("family-test") is build
    finally:
        from edgesdk import codecs

        codecs._FAMILIES.pop("family-test")
    with pytest.raises(edgesdk.InvalidArgumentError):
        register_codec_family("", build)


def test_top_level_names_are_listed():
    names = dir(edgesdk)
    assert {"ImageCodec", "Bundle", "CodecModel", "VideoEncoder", "write_video"} <= set(names)
