"""A frame built without a model id is written with the documented unspecified id (32 zero
bytes) and reads back with it (kills a surviving mutant of UNSPECIFIED_MODEL, docs/testing.md)."""

from edgesdk.bitstream.container import UNSPECIFIED_MODEL, Frame, FrameType, Section, SectionKind


def test_a_frame_without_a_model_id_carries_32_zero_bytes():
    assert UNSPECIFIED_MODEL == bytes(32)
    frame = Frame(width=3, height=5, frame_type=FrameType.KEY, quality=2,
                  sections=(Section(SectionKind.LATENT, b"\x01\x02"),))
    parsed = Frame.parse(frame.to_bytes())
    assert parsed.model_id == bytes(32)
    assert (parsed.width, parsed.height, parsed.quality) == (3, 5, 2)
