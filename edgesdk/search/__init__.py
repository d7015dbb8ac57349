"""Search in latent space (docs/latent-search.md): feature identifiers that map a frame's
parsed latent to a small code, and queries over stored codes."""
