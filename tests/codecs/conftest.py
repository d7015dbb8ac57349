"""Fixtures of the image and video codec tests: the shipped default model and a real crop of the sample."""

import pytest

from edgesdk.codecs.image.codec import ImageCodec
from edgesdk.codecs.model import default_sample_image


@pytest.fixture(scope="module")
def codec():
    """The shipped default model on one thread (ONNX Runtime, fp32)."""
    with ImageCodec(threads=1) as codec:
        yield codec


@pytest.fixture(scope="module")
def crop():
    """A 192x256 crop of the sample photograph: real content, fast to code."""
    return default_sample_image()[100:292, 200:456]


@pytest.fixture(scope="module")
def lite_codec():
    """The shipped lite model on one thread: where a figure was measured with it."""
    with ImageCodec("lite", threads=1) as codec:
        yield codec
