"""Model bundles (docs/bundle.md): a manifest that pins every file by sha256, stored as a
directory or one ``.edgesdk`` file, optionally signed (keys and signatures: edgesdk.security).

- :mod:`edgesdk.bundle.manifest`: names, limits, serialisation, the per-quality entries;
- :mod:`edgesdk.bundle.storage`: reading directories and archives into verified bytes;
- :mod:`edgesdk.bundle.reader`: :class:`Bundle`;
- :mod:`edgesdk.bundle.writer`: :func:`write_bundle`, :func:`sign_bundle`.
"""

from edgesdk.bundle.manifest import (
    BUNDLE_SUFFIX,
    MANIFEST,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_MANIFEST_BYTES,
    MAX_TOTAL_BYTES,
    SCHEMA,
    SCHEMA_VERSION,
    SIGNATURE,
    check_name,
)
from edgesdk.bundle.reader import Bundle
from edgesdk.bundle.writer import sign_bundle, write_bundle

__all__ = ["BUNDLE_SUFFIX", "MANIFEST", "MAX_FILES", "MAX_FILE_BYTES", "MAX_MANIFEST_BYTES", "MAX_TOTAL_BYTES",
           "SCHEMA", "SCHEMA_VERSION", "SIGNATURE", "Bundle", "check_name", "sign_bundle", "write_bundle"]
