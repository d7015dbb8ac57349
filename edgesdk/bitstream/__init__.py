"""The bitstream layer: integers only, no transforms (docs/bitstream.md, docs/entropy.md).

- :mod:`~edgesdk.bitstream.container`: frames, sections and parameters;
- :mod:`~edgesdk.bitstream.packets`: packets for transports and ``.elv`` files;
- :mod:`~edgesdk.bitstream.entropy`: CDF tables and the rANS coder;
- :mod:`~edgesdk.bitstream.intnet`: integer networks (the hyper-synthesis, bit-exact everywhere);
- :mod:`~edgesdk.bitstream.golden`: golden vectors (``edgesdk/data/golden/*.egv``).
"""
