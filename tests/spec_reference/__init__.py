"""A clean-room reference for the edgesdk bitstream, written from docs/ only.

It imports numpy and the standard library, never ``edgesdk``: tests/test_spec_vectors.py
uses it to prove that docs/bitstream.md, docs/entropy.md and docs/integer-network.md are
enough to parse the streams in docs/spec/vectors/ to the same integers as the package.
"""
