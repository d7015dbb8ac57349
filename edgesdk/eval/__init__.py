"""Measurements built on the public API: metrics, BD-rate, anchors, plots, image and video
reports, stage timings (docs/evaluation.md)."""
