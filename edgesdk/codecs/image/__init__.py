"""The hyperprior image codec (family ``hyperprior-image``): ``codec.py`` (frames, tiling,
:class:`ImageCodec`) and ``entropy_model.py`` (the integer entropy model of its latents)."""

from edgesdk.codecs import register_codec_family

MODEL_FAMILY = "hyperprior-image"  # the manifest's model.family of this codec


def _build(image_codec, quality: int):
    from edgesdk.codecs.image.codec import build_hyperprior_codec

    return build_hyperprior_codec(image_codec, quality)


register_codec_family(MODEL_FAMILY, _build)
