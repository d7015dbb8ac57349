"""Evaluation, built on the public API: ``metrics`` (PSNR, MS-SSIM), ``bdrate`` (Bjøntegaard
deltas), ``anchors`` (image folders, Pillow codecs), ``curves`` (reference curves, RD plots),
``image_report`` / ``video_report`` / ``video_evaluation`` (``edgesdk eval``), ``bench``
(stage timings).

Independent of any particular codec. Module level imports numpy only; Pillow and
matplotlib are imported inside the functions that need them.

Conventions (chosen to match CompressAI's published Kodak numbers, see
``reference_curves``):

* Images are ``uint8`` arrays ``H x W x 3`` (RGB). ``psnr`` and ``ms_ssim`` also
  accept ``H x W`` (one channel).
* ``psnr``: ``10 log10(255² / MSE)`` with the MSE over all pixels and all three RGB
  channels of one image (CompressAI's ``psnr-rgb``). Identical images give ``inf``.
* ``ms_ssim``: Wang, Simoncelli & Bovik 2003, computed **on each RGB channel separately
  and averaged over the channels**, data range 255 (CompressAI's ``ms-ssim-rgb``, i.e.
  ``pytorch_msssim.ms_ssim(x, y, data_range=255)`` on float RGB). Details below.
* Dataset averages, as CompressAI computes them: for each operating point, the mean over
  images of the per-image bpp, of the per-image PSNR and of the per-image MS-SSIM (not
  the PSNR of the mean MSE).
* bpp: ``8 * len(encoded bytes) / (H * W)``, from the actual encoded byte count.

A *point* is a dict ``{"label", "quality", "bpp", "psnr", "ms_ssim", ...}``; a *curve*
is a dict ``{"label", "bpp": [...], "psnr": [...], "ms_ssim": [...]}``. ``as_curve``
turns a list of points into a curve; ``rd_plot`` accepts either form.
"""

from edgesdk.eval.anchors import evaluate_codec, load_images, pillow_codec_points, pillow_codecs
from edgesdk.eval.bdrate import bd_psnr, bd_rate
from edgesdk.eval.curves import REFERENCE_DIR, as_curve, rd_plot, reference_curves
from edgesdk.eval.metrics import MS_SSIM_WEIGHTS, ms_ssim, psnr

__all__ = ["MS_SSIM_WEIGHTS", "REFERENCE_DIR", "as_curve", "bd_psnr", "bd_rate", "evaluate_codec", "load_images",
           "ms_ssim", "pillow_codec_points", "pillow_codecs", "psnr", "rd_plot", "reference_curves"]
