"""Edits in latent space (docs/latent-edit.md): transformation identifiers applied to a frame's
integers and re-entropy-coded into a valid frame, without the generator."""
