"""Video coding with latent-space residual inter frames (DESIGN.md section 7, docs/video.md).

Keyframes are images (:class:`~edgesdk.codecs.image.codec.HyperpriorImageCodec`). A P frame is
predicted by the previous reference frame, a B frame by a motion-compensated interpolation
of its two references; the prediction goes through the compressor, and only the quantized
latent residual ``r = round((y − y_pred) / step)`` is coded, with the integer table set of
:mod:`edgesdk.codecs.video.residual`. The decoder runs ``g_s(y_pred + step · r)``. Everything the parse
depends on is integers from the stream; float differences between the encoder's and the
decoder's transforms move pixels, never the parse, and stop at the next keyframe.

Streams are :mod:`edgesdk.bitstream.packets` packets (one frame each, decode order), so a file
(``.elv``, :func:`write_video` / :func:`read_video`) and a socket carry the same bytes.

Modules: ``syntax`` (frame syntax, limits), ``encoder``, ``decoder``, ``elv`` (files),
``motion`` (motion search and compensation, copied blocks), ``residual`` (residual coding),
``background`` (the long-term background reference), ``presets`` (named encoder options).
"""

from edgesdk.codecs.video.decoder import DecodedFrame, DecoderStats, VideoDecoder
from edgesdk.codecs.video.elv import read_video, write_video
from edgesdk.codecs.video.encoder import GroupDecision, VideoEncoder
from edgesdk.codecs.video.presets import PRESETS, preset_options
from edgesdk.codecs.video.syntax import STRUCTURE_B, STRUCTURE_P, FrameSyntax, Limits, parse_video_frame

__all__ = ["PRESETS", "STRUCTURE_B", "STRUCTURE_P", "DecodedFrame", "DecoderStats", "FrameSyntax", "GroupDecision", "Limits",
           "VideoDecoder", "VideoEncoder", "parse_video_frame", "preset_options", "read_video",
           "write_video"]
