#!/usr/bin/env python3
"""Planted bugs, one per bug class of issue 19, each with the tests that must catch it
(docs/testing.md). Each mutant is applied to the working tree, the named tests are run, and
the file is restored. "new" tests must fail; "old" tests (the suite before issue 19) are run
too, to show what used to let the bug through. The C++ classes (requantisation ties, the last
section's CRC) are planted by tools/mutants/cpp_mutants.py.

    python tools/mutants/planted.py               # every planted bug
    python tools/mutants/planted.py --only image-crop-wrong-corner --no-old

Exit status 1 when a planted bug is not caught by its new tests.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# (id, file, snippet, replacement, new tests that must fail, old tests for comparison)
PLANTED = [
    ("image-crop-wrong-corner", "edgesdk/codecs/image/codec.py",
     "[: frame.height, : frame.width]", "[-frame.height:, -frame.width:]",
     "tests/codecs/image/test_pixels.py", "tests/codecs/image/test_image_api.py"),
    ("bundle-skip-hash-of-eint", "edgesdk/bundle/storage.py",
     'if digest != entry["sha256"]:', 'if digest != entry["sha256"] and not name.endswith(".eint"):',
     "tests/bundle/test_bundle_every_file.py", "tests/bundle/test_bundle.py"),
    ("packets-loss-run-counted-once", "edgesdk/bitstream/packets.py",
     "self.stats.lost_packets += count", "self.stats.lost_packets += 1",
     "tests/bitstream/test_packet_loss_counts.py", "tests/bitstream/test_packets.py"),
    ("packets-single-loss-unreported", "edgesdk/bitstream/packets.py",
     "        elif count > 0:\n", "        elif count == 1:\n            return\n        elif count > 0:\n",
     "tests/bitstream/test_packet_loss_counts.py", "tests/bitstream/test_packets.py"),
    ("video-b-references-swapped", "edgesdk/codecs/video/decoder.py",
     "interpolate(syntax.motion, past.image, latest.image,", "interpolate(syntax.motion, latest.image, past.image,",
     "tests/codecs/video/test_video_reconstruction_torch.py", "tests/codecs/video/test_video_codec_torch.py"),
    ("entropy-decode-means-rounded", "edgesdk/codecs/image/entropy_model.py",
     "y_hat = symbols if params.means is None else symbols + params.means",
     "y_hat = symbols if params.means is None else symbols + np.rint(params.means)",
     "tests/codecs/image/test_noise_reaches_only_pixels.py",
     "tests/codecs/image/test_cross_backend.py::test_noise_on_compressor_outputs_and_generator_input_never_changes_the_parse"),
    ("eval-bd-rate-none", "edgesdk/eval/video_evaluation.py",
     "    try:\n        return bd_rate([p[\"kbps\"] for p in anchor]",
     "    return None\n    try:\n        return bd_rate([p[\"kbps\"] for p in anchor]",
     "tests/eval/test_eval_cli.py::test_video_eval_against_x264", None),
]


def pytest(tests: str) -> tuple[bool, list[str]]:
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests.split()],
                            cwd=REPO, capture_output=True, text=True, timeout=1800)
    failed = sorted({line.split(" ")[1] for line in result.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))})
    return result.returncode == 0, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--no-old", action="store_true", help="skip running the old tests")
    args = parser.parse_args()
    if subprocess.run(["git", "diff", "--quiet", "--", "edgesdk"], cwd=REPO).returncode:
        print("edgesdk/ has uncommitted changes; the planted bugs edit it in place: commit or stash first")
        return 2
    uncaught = []
    for ident, name, old, new, new_tests, old_tests in PLANTED:
        if args.only and ident not in args.only:
            continue
        path = REPO / name
        original = path.read_text()
        assert original.count(old) == 1, f"{ident}: snippet found {original.count(old)} times in {name}"
        path.write_text(original.replace(old, new))
        try:
            new_passed, new_failed = pytest(new_tests)
            old_passed, old_failed = (None, []) if args.no_old or not old_tests else pytest(old_tests)
        finally:
            path.write_text(original)
        print(f"{ident}: new tests {'PASSED (not caught!)' if new_passed else 'failed'}: {len(new_failed)} failing")
        for test in new_failed[:8]:
            print(f"    {test}")
        if old_passed is not None:
            print(f"  old tests {old_tests}: {'all pass' if old_passed else f'{len(old_failed)} failing'}")
            for test in old_failed[:5]:
                print(f"    {test}")
        if new_passed:
            uncaught.append(ident)
        sys.stdout.flush()
    return 1 if uncaught else 0


if __name__ == "__main__":
    sys.exit(main())
