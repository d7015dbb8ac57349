"""Latent video (docs/video.md): ``codec.py`` (frame syntax, encoder, decoder, ``.elv`` files),
``motion.py`` (motion search and compensation, copied blocks), ``residual.py`` (residual coding)."""
