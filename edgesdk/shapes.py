"""Image sizes every layer agrees on: the largest side and the padding to the transforms' grid."""

MAX_SIDE = 16384  # the largest image or frame side anything accepts
PAD_MULTIPLE = 64  # compressor /16, hyper-analysis /4 more: coded images are padded to this grid


def padded_size(size: int) -> int:
    """``size`` rounded up to a multiple of :data:`PAD_MULTIPLE` (what the transforms see)."""
    return size + (-size % PAD_MULTIPLE)
