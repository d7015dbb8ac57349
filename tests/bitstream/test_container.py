import pytest

import edgesdk
from edgesdk.bitstream.container import MAX_PARAMETERS, Frame, FrameType, Parameter, Section, SectionKind


def _frame(**changes) -> Frame:
    fields = dict(
        width=640,
        height=480,
        frame_type=FrameType.B,
        quality=2,
        model_id=bytes(range(100, 132)),
        parameters={Parameter.LATENT_CHANNELS: 320, Parameter.REFERENCE_DISTANCE: -2},
        sections=(Section(SectionKind.HYPER_LATENT, b"zz"), Section(SectionKind.LATENT, bytes(range(256)))),
    )
    fields.update(changes)
    return Frame(**fields)


def test_round_trip_keeps_every_field_and_views_sections_without_copies():
    data = _frame().to_bytes()
    parsed = Frame.parse(data)
    assert (parsed.width, parsed.height, parsed.frame_type, parsed.quality) == (640, 480, FrameType.B, 2)
    assert parsed.model_id == bytes(range(100, 132))
    assert parsed.parameters == {Parameter.LATENT_CHANNELS: 320, Parameter.REFERENCE_DISTANCE: -2}
    assert bytes(parsed.section(SectionKind.LATENT).data) == bytes(range(256))
    assert isinstance(parsed.section(SectionKind.LATENT).data, memoryview)
    assert parsed.section(SectionKind.METADATA) is None
    assert parsed.version == (1, 0)
    assert parsed.to_bytes() == data


def test_parse_accepts_bytearray_and_memoryview():
    data = _frame().to_bytes()
    assert Frame.parse(bytearray(data)).to_bytes() == data
    assert Frame.parse(memoryview(data)).to_bytes() == data


@pytest.mark.parametrize(
    "mutate, error",
    [
        (lambda b: b[:10], edgesdk.TruncatedError),
        (lambda b: b[:-1], edgesdk.TruncatedError),
        (lambda b: b + b"\0", edgesdk.CorruptedError),
        (lambda b: b"JPEG" + b[4:], edgesdk.BadMagicError),
        (lambda b: b[:4] + b"\x02" + b[5:], edgesdk.UnsupportedVersionError),
        (lambda b: b[:-3] + bytes([b[-3] ^ 1]) + b[-2:], edgesdk.ChecksumError),
        (lambda b: b[:41] + bytes([b[41] ^ 4]) + b[42:], edgesdk.ChecksumError),
        (lambda b: b"", edgesdk.TruncatedError),
    ],
)
def test_damaged_frames_raise_specific_errors(mutate, error):
    with pytest.raises(error) as info:
        Frame.parse(mutate(_frame().to_bytes()))
    assert isinstance(info.value, edgesdk.BitstreamError)
    assert str(info.value)  # a message the user can act on


def test_every_single_bit_flip_is_detected():
    data = _frame().to_bytes()
    for position in range(len(data)):
        damaged = bytearray(data)
        damaged[position] ^= 0x80
        with pytest.raises(edgesdk.BitstreamError):
            Frame.parse(bytes(damaged))


def test_writer_rejects_what_a_reader_would_refuse():
    with pytest.raises(edgesdk.LimitExceededError):
        _frame(width=0).to_bytes()
    with pytest.raises(edgesdk.LimitExceededError):
        _frame(height=70000).to_bytes()
    with pytest.raises(edgesdk.InvalidArgumentError):
        _frame(model_id=b"short").to_bytes()
    with pytest.raises(edgesdk.LimitExceededError):
        _frame(parameters={k: 0 for k in range(MAX_PARAMETERS + 1)}).to_bytes()
    with pytest.raises(edgesdk.InvalidArgumentError):
        _frame(frame_type=7).to_bytes()
