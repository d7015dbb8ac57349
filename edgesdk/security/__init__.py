"""Keys and signatures for bundles (docs/bundle.md): Ed25519 keys, the trusted-keys
configuration and signature checks. Encryption will join here."""

from edgesdk.security.keys import (
    check_signature,
    configured_trusted_keys,
    generate_signing_key,
    key_fingerprint,
    load_private_key,
    load_public_key,
    public_key_text,
    raw_public_key,
    trusted_keys_folder,
)

__all__ = ["check_signature", "configured_trusted_keys", "generate_signing_key", "key_fingerprint",
           "load_private_key", "load_public_key", "public_key_text", "raw_public_key", "trusted_keys_folder"]
