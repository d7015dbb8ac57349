"""Train an image codec model: ``python -m edgesdk_export.train --model lite --quality 3 --out runs/lite-q3``.

Loss: ``λ · 255² · MSE + bpp`` on random crops (with horizontal flips) of a folder of
photographs decoded once into RAM. Quality levels map to CompressAI's MSE λ values, so rate
points are comparable with published hyperprior curves:

    quality  0       1       2       3       4       5       6       7
    λ        0.0018  0.0035  0.0067  0.0130  0.0250  0.0483  0.0932  0.1800

Writes to ``--out``: ``last.pt`` (every ``--checkpoint-every`` steps and at the end),
``step_N.pt`` (every ``--keep-every`` steps and at the end), ``log.jsonl`` (one JSON object
per ``--log-every`` steps: step, elapsed_s, time, loss, bpp, mse, psnr, lr, steps_per_s,
images_per_s, skipped) and ``run.json`` (arguments and model configuration).
``--resume`` continues from ``last.pt`` (or a given checkpoint) up to ``--steps`` in total.

Kodak is the evaluation set: a data path that mentions it is refused.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from edgesdk_export.models import PRESETS, CodecConfig, ImageCodecModel

LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".ppm"}
CHECKPOINT_FORMAT = "edgesdk-image-codec-checkpoint"
CHECKPOINT_VERSION = 1
_REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = _REPO.parent / "shared" / "data" / "train"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m edgesdk_export.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of training images (recursive)")
    parser.add_argument("--out", type=Path, required=True, help="folder for checkpoints and logs")
    parser.add_argument("--model", choices=sorted(PRESETS), default="lite")
    parser.add_argument("--config", help="JSON object (inline or a file) overriding fields of the preset")
    parser.add_argument("--quality", type=int, default=3, choices=range(len(LAMBDAS)), metavar="0..7")
    parser.add_argument("--lmbda", type=float, help="λ to use instead of the quality's")
    parser.add_argument("--steps", type=int, default=500_000, help="total optimizer steps (resumed runs included)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=256, help="square crop size, a multiple of 64")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--lr-drop-at", type=float, default=0.9, help="fraction of --steps after which lr /= 10")
    parser.add_argument("--train-only", choices=("all", "entropy"), default="all",
                        help="entropy: freeze g_a and g_s and minimise the rate alone (a warm-started "
                             "transform's entropy model first learns at several times the speed)")
    parser.add_argument("--entropy-lr-scale", type=float, default=1.0,
                        help="learning-rate factor of h_s's last layer and the z prior (see parameter_groups)")
    parser.add_argument("--clip", type=float, default=1.0, help="gradient norm clip (0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="CPU threads for torch and image decoding")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--amp", choices=("auto", "off", "bf16", "fp16"), default="auto",
                        help="mixed precision of the float transforms (auto: bf16/fp16 on CUDA, off on CPU; bf16 on CPU too)")
    parser.add_argument("--holdout-every", type=int, default=0,
                        help="leave every N-th image (sorted by path) out of training, for evaluation "
                             "on photographs the model never saw (see holdout_images)")
    parser.add_argument("--channels-last", action="store_true", help="channels-last memory format")
    parser.add_argument("--resume", nargs="?", const="last", help="continue from OUT/last.pt or the given checkpoint")
    parser.add_argument("--init", type=Path, help="start from a checkpoint's weights (e.g. another quality)")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--checkpoint-seconds", type=float, default=0,
                        help="also save last.pt whenever this many seconds have passed since the last save")
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="stop after this many seconds of this run (then --lr-drop-at is a fraction of it)")
    parser.add_argument("--keep-every", type=int, default=50_000)
    parser.add_argument("--cache-mb", type=int, default=4096, help="RAM for decoded images; the rest are skipped")
    parser.add_argument("--max-side", type=int, default=2048, help="downscale larger images to this long side")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.crop <= 0 or args.crop % 64:
        parser.error("--crop must be a positive multiple of 64")
    if args.steps < 0 or args.batch_size < 1 or min(args.log_every, args.checkpoint_every, args.keep_every) < 1:
        parser.error("--steps must be ≥ 0; --batch-size and the --*-every intervals ≥ 1")
    return args


# --- Data -------------------------------------------------------------------------------------


def _mentions_kodak(path: Path) -> bool:
    return "kodak" in str(path).lower() or "kodak" in str(path.resolve()).lower()


def refuse_kodak(path: Path) -> None:
    if _mentions_kodak(path):
        raise SystemExit(f"error: refusing to train on {path}: Kodak is the evaluation set, never training data")


def find_images(root: Path) -> list[Path]:
    """Image files under ``root``, sorted; refuses Kodak anywhere in the tree."""
    refuse_kodak(root)
    if not root.is_dir():
        raise SystemExit(f"error: --data {root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    for path in files:
        if _mentions_kodak(path.relative_to(root)) or _mentions_kodak(path):
            raise SystemExit(f"error: refusing to train on {root}: it contains {path} (Kodak is the evaluation set)")
    if not files:
        raise SystemExit(f"error: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    return files


def _decode(path: Path, max_side: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        if max(image.size) > max_side:
            factor = max_side / max(image.size)
            size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.uint8).copy()


def holdout_images(files: list[Path], every: int) -> tuple[list[Path], list[Path]]:
    """(training files, held-out files): every ``every``-th file of the sorted list is held out."""
    if every <= 0:
        return files, []
    return [f for i, f in enumerate(files) if i % every], [f for i, f in enumerate(files) if not i % every]


def load_images(files: list[Path], crop: int, cache_mb: int, max_side: int, threads: int,
                seed: int) -> list[np.ndarray]:
    """Decoded images (uint8 HWC) at least ``crop`` on the short side, within ``cache_mb``.

    Files are taken in a seeded random order so that a budget-limited cache is a fair sample.
    """
    order = list(files)
    random.Random(seed).shuffle(order)
    budget = cache_mb * 2**20
    images: list[np.ndarray] = []
    used = too_small = 0
    chunk = 4 * max(1, threads)  # decode a few at a time: peak memory stays near the budget
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:  # Pillow decodes without the GIL
        for start in range(0, len(order), chunk):
            if used >= budget:
                break
            for image in pool.map(lambda p: _decode(p, max_side), order[start : start + chunk]):
                if min(image.shape[:2]) < crop:
                    too_small += 1
                elif used + image.nbytes <= budget:
                    images.append(image)
                    used += image.nbytes
    over_budget = len(order) - len(images) - too_small
    if too_small or over_budget:
        print(f"note: skipped {too_small} images smaller than {crop} px and {over_budget} over the "
              f"{cache_mb} MB cache", file=sys.stderr)
    if not images:
        raise SystemExit(f"error: no usable training image (need a short side ≥ {crop} px)")
    return images


def sample_batch(images: list[np.ndarray], rng: np.random.Generator, batch: int, crop: int) -> torch.Tensor:
    """uint8 [batch, 3, crop, crop]: a random crop of a random image, flipped half the time."""
    out = np.empty((batch, crop, crop, 3), dtype=np.uint8)
    for b in range(batch):
        image = images[int(rng.integers(len(images)))]
        top = int(rng.integers(image.shape[0] - crop + 1))
        left = int(rng.integers(image.shape[1] - crop + 1))
        patch = image[top : top + crop, left : left + crop]
        out[b] = patch[:, ::-1] if rng.random() < 0.5 else patch
    return torch.from_numpy(out).permute(0, 3, 1, 2)


# --- Checkpoints ------------------------------------------------------------------------------


def _save(path: Path, state: dict) -> None:
    # Write then rename: an interrupted save never leaves a truncated checkpoint behind.
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    state = torch.load(path, map_location=map_location, weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT or state.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not an edgesdk image codec checkpoint (version {CHECKPOINT_VERSION})")
    return state


def load_model(path: str | Path, map_location: str | torch.device = "cpu") -> tuple[ImageCodecModel, dict]:
    """The trained model (eval mode) and the checkpoint's metadata (step, quality, lmbda, config)."""
    state = load_checkpoint(path, map_location)
    model = ImageCodecModel(CodecConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    model.to(map_location).eval()
    meta = {k: state[k] for k in ("step", "elapsed_s", "quality", "lmbda", "config")}
    return model, meta


# --- Progress ---------------------------------------------------------------------------------


class _Progress:
    """tqdm when installed, else a status line on stderr (rewritten in place on a terminal)."""

    def __init__(self, start: int, total: int, enabled: bool) -> None:
        self.enabled = enabled
        self.total = total
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True)

    def update(self, step: int, rate: float, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        text = f"loss {metrics['loss']:.4g} bpp {metrics['bpp']:.4f} psnr {metrics['psnr']:.2f}"
        if self.bar is not None:
            self.bar.update(step - self.bar.n)
            self.bar.set_postfix_str(text, refresh=False)
            return
        line = f"step {step}/{self.total} {rate:.2f} step/s {text}"
        end = "\r" if sys.stderr.isatty() and step != self.total else "\n"
        print(line, end=end, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- Training ---------------------------------------------------------------------------------


def batch_loss(out: dict, x: torch.Tensor, lmbda, lambdas: torch.Tensor | None, rate_level: torch.Tensor | None,
               entropy_only: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss, mse) of a batch as training minimises it: bits per pixel plus λ·255²·MSE, each
    image at its own rate level's λ for a multi-rate model (``lambdas``), bits alone when only
    the entropy model trains."""
    if entropy_only:
        return out["bpp"], torch.zeros((), device=x.device)
    if lambdas is None:
        mse = F.mse_loss(out["x_hat"].float(), x)
        return lmbda * 255.0**2 * mse + out["bpp"], mse
    mse_each = (out["x_hat"].float() - x).square().mean(dim=(1, 2, 3))
    return (lambdas[rate_level] * 255.0**2 * mse_each).mean() + out["bpp"], mse_each.mean()


def _resolve_config(args: argparse.Namespace) -> CodecConfig:
    config = PRESETS[args.model]
    if args.config:
        text = args.config if args.config.lstrip().startswith("{") else Path(args.config).read_text()
        base = config.to_dict()
        base.update(json.loads(text))
        config = CodecConfig.from_dict(base)
    return config


def _autocast_dtype(args: argparse.Namespace, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        # CPUs with AVX-512 BF16 run bf16 autocast; fp16 autocast has no benefit there.
        if args.amp == "fp16":
            print("note: --amp fp16 applies to CUDA only; training in float32", file=sys.stderr)
        return torch.bfloat16 if args.amp == "bf16" else None
    if args.amp == "off":
        return None
    if args.amp == "fp16" or (args.amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _rng_state(rng: np.random.Generator) -> dict:
    state = {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(rng: np.random.Generator, state: dict) -> None:
    rng.bit_generator.state = state["numpy"]
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    files = find_images(args.data)  # refuses Kodak before anything else happens
    if args.threads:
        torch.set_num_threads(args.threads)
    # GDN and small late-training weights produce subnormal floats, which run ~5x slower on x86
    # CPUs; flushed for the run only (the mode is per thread and callers may rely on IEEE).
    torch.set_flush_denormal(True)
    try:
        return _train(args, files)
    finally:
        torch.set_flush_denormal(False)


def _train(args: argparse.Namespace, files: list[Path]) -> int:
    threads = args.threads or torch.get_num_threads()
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    amp_dtype = _autocast_dtype(args, device)

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    config = _resolve_config(args)
    if config.rate_qualities:  # one model for several qualities: λ per rate level
        if args.lmbda is not None:
            raise SystemExit("error: --lmbda applies to single-rate models; a multi-rate model uses its qualities' λ")
        lmbda = [LAMBDAS[q] for q in config.rate_qualities]
        quality = list(config.rate_qualities)
    else:
        lmbda = args.lmbda if args.lmbda is not None else LAMBDAS[args.quality]
        quality = args.quality

    args.out.mkdir(parents=True, exist_ok=True)
    last_path = args.out / "last.pt"
    state = None
    if args.resume:
        state = load_checkpoint(last_path if args.resume == "last" else args.resume, "cpu")
        if state["config"] != config.to_dict():
            raise SystemExit(f"error: the checkpoint's model configuration differs from --model/--config:\n"
                             f"  checkpoint: {state['config']}\n  requested:  {config.to_dict()}")
        if not np.allclose(state["lmbda"], lmbda):
            raise SystemExit(f"error: the checkpoint was trained with λ={state['lmbda']}, not {lmbda} "
                             f"(use --init to start a new quality from it)")
    elif last_path.exists():
        raise SystemExit(f"error: {last_path} exists; pass --resume to continue or choose another --out")

    model = ImageCodecModel(config).to(device)
    lambdas = torch.tensor(lmbda, dtype=torch.float32, device=device) if isinstance(lmbda, list) else None
    channels_last = args.channels_last
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    entropy_only = args.train_only == "entropy"
    if entropy_only:
        for parameter in (*model.g_a.parameters(), *model.g_s.parameters()):
            parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameter_groups(args.lr, args.entropy_lr_scale), lr=args.lr)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    step, elapsed = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        _set_rng_state(rng, state["rng"])
        step, elapsed = state["step"], state["elapsed_s"]
    elif args.init:
        init = load_checkpoint(args.init, "cpu")
        if init["config"] != config.to_dict():
            raise SystemExit("error: --init checkpoint has another model configuration")
        model.load_state_dict(init["model"])
    if step >= args.steps:
        print(f"already at step {step} of {args.steps}", file=sys.stderr)
        return 0

    files, held_out = holdout_images(files, args.holdout_every)
    images = load_images(files, args.crop, args.cache_mb, args.max_side, threads, args.seed)
    if state is None and args.init is None and config.transform == "wavelet":
        calibration = sample_batch(images, np.random.default_rng(args.seed + 1), 32, args.crop).float().div_(255.0)
        model.select_rate_level(len(config.rate_qualities) // 2)
        model.initialize_entropy_model(calibration.to(device))
    run_info = {"args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                "config": config.to_dict(), "lmbda": lmbda, "device": str(device),
                "amp": str(amp_dtype) if amp_dtype else None, "images": len(images), "resumed_at": step,
                "held_out": [str(p) for p in held_out]}
    (args.out / "run.json").write_text(json.dumps(run_info, indent=2) + "\n")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: pick the fastest kernels once

    def checkpoint() -> dict:
        return {
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step, "elapsed_s": elapsed,
            "config": config.to_dict(), "quality": quality, "lmbda": lmbda,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else None, "rng": _rng_state(rng),
        }

    progress = _Progress(step, args.steps, not args.no_progress)
    # Sums stay on the device (loss, bpp, mse): reading them every step would stall a GPU.
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    counted = skipped = 0
    window_start, window_step = time.monotonic(), step
    shown = 0.0

    def window_means() -> dict[str, float]:
        loss_sum, bpp_sum, mse_sum = (sums / max(counted, 1)).tolist()
        return {"loss": loss_sum, "bpp": bpp_sum, "mse": mse_sum, "psnr": -10.0 * math.log10(max(mse_sum, 1e-12))}

    model.train()
    try:
        with open(args.out / "log.jsonl", "a") as log:
            run_start = last_save = time.monotonic()
            finishing = False
            while not finishing:
                tick = time.monotonic()
                if args.max_seconds:  # a time budget: the lr drops at that fraction of it
                    late = tick - run_start >= args.lr_drop_at * args.max_seconds
                else:
                    late = step >= args.lr_drop_at * args.steps
                lr = args.lr * (0.1 if late else 1.0)
                for group in optimizer.param_groups:
                    group["lr"] = lr * group["lr_scale"]
                batch = sample_batch(images, rng, args.batch_size, args.crop)
                x = batch.to(device, non_blocking=True).float().div_(255.0)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                rate_level = None
                if lambdas is not None:  # each image its own rate level
                    rate_level = torch.from_numpy(rng.integers(len(lambdas), size=args.batch_size)).to(device)
                with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                    out = model(x, rate_level, reconstruct=not entropy_only)
                loss, mse = batch_loss(out, x, lmbda, lambdas, rate_level, entropy_only)
                optimizer.zero_grad(set_to_none=True)
                if torch.isfinite(loss):
                    scaler.scale(loss).backward()
                    if args.clip > 0:
                        scaler.unscale_(optimizer)
                        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                    scaler.step(optimizer)
                    scaler.update()
                    sums += torch.stack([loss.detach(), out["bpp"].detach(), mse.detach()]).double()
                    counted += 1
                else:  # one bad batch must not poison Adam's moments
                    skipped += 1
                step += 1
                elapsed += time.monotonic() - tick
                now = time.monotonic()
                finishing = step >= args.steps or bool(args.max_seconds and now - run_start >= args.max_seconds)
                rate = (step - window_step) / max(now - window_start, 1e-9)
                if counted and (now - shown >= 1.0 or finishing):
                    progress.update(step, rate, window_means())
                    shown = now
                if step % args.log_every == 0 or finishing:
                    record = {"step": step, "elapsed_s": round(elapsed, 3), "time": round(time.time(), 3), "lr": lr,
                              "steps_per_s": round(rate, 4), "images_per_s": round(rate * args.batch_size, 3),
                              "skipped": skipped}
                    if counted:
                        record.update(window_means())
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    sums.zero_()
                    counted = skipped = 0
                    window_start, window_step = time.monotonic(), step
                timed = bool(args.checkpoint_seconds and now - last_save >= args.checkpoint_seconds)
                if step % args.checkpoint_every == 0 or finishing or timed:
                    _save(last_path, checkpoint())
                    last_save = time.monotonic()
                if step % args.keep_every == 0 or finishing:
                    _save(args.out / f"step_{step}.pt", checkpoint())
    except KeyboardInterrupt:
        _save(last_path, checkpoint())
        print(f"\ninterrupted at step {step}; saved {last_path}", file=sys.stderr)
        return 130
    finally:
        progress.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
