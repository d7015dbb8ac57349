#!/usr/bin/env python3
"""Mutation testing of the Python layers with cosmic-ray (docs/testing.md).

cosmic-ray mutates the working tree in place (the editable install imports edgesdk from
here, so a copy would not be imported), runs the layer's tests for each mutant and restores
the file. Run it on a clean tree and do not edit edgesdk/ meanwhile; the script refuses to
start on a dirty edgesdk/ and checks it is clean afterwards.

    python tools/mutants/python_mutants.py                       # every layer, every mutant (hours)
    python tools/mutants/python_mutants.py --layer bundle --sample 15 --seed 1
    python tools/mutants/python_mutants.py --sample 4 --seed 0   # the CI subset

Writes the session databases and a report of surviving mutants (with diffs) to --out
(default build/mutants). Exit status 1 when a sampled mutant survives that is not listed in
EQUIVALENT (by module, operator and occurrence as cosmic-ray names them).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTEST = "python -m pytest -x -q -p no:cacheprovider -p no:randomly"

# layer: (modules mutated, tests that must kill their mutants)
LAYERS = {
    "bitstream": (
        ["edgesdk/bitstream/container.py", "edgesdk/bitstream/packets.py", "edgesdk/bitstream/entropy.py",
         "edgesdk/bitstream/intnet.py"],
        "tests/bitstream/test_container.py tests/bitstream/test_container_defaults.py tests/bitstream/test_packets.py tests/bitstream/test_packet_loss_counts.py "
        "tests/bitstream/test_entropy.py tests/bitstream/test_intnet_spec_exact.py tests/bitstream/test_intnet_torch.py "
        "tests/test_spec_vectors.py "
        "tests/test_stream_identity.py",
    ),
    "codecs": (
        ["edgesdk/codecs/image/codec.py", "edgesdk/codecs/image/tiles.py", "edgesdk/codecs/image/entropy_model.py",
         "edgesdk/codecs/model.py"],
        "tests/codecs/image/test_pixels.py tests/codecs/image/test_noise_reaches_only_pixels.py "
        "tests/codecs/image/test_image_api.py tests/codecs/image/test_latent_codec.py tests/codecs/test_families.py "
        "tests/test_stream_identity.py",
    ),
    "bundle": (
        ["edgesdk/bundle/manifest.py", "edgesdk/bundle/storage.py", "edgesdk/bundle/reader.py",
         "edgesdk/bundle/writer.py"],
        "tests/bundle/test_bundle.py tests/bundle/test_bundle_every_file.py tests/bundle/test_bundle_limits_exact.py",
    ),
    "video": (
        ["edgesdk/codecs/video/syntax.py", "edgesdk/codecs/video/decoder.py", "edgesdk/codecs/video/residual.py",
         "edgesdk/codecs/video/motion.py", "edgesdk/codecs/video/elv.py"],
        "tests/codecs/video/test_video_format.py tests/codecs/video/test_video_syntax_exact.py "
        "tests/codecs/video/test_video_reconstruction_torch.py",
    ),
}

# Surviving mutants judged equivalent, "module:operator:occurrence" -> why (docs/testing.md).
EQUIVALENT: dict[str, str] = {
    "edgesdk/bundle/storage.py:core/ReplaceBinaryOperator_Add_BitOr:0":
        "(MAX_FILES | 2) == MAX_FILES + 2 since MAX_FILES = 4096 has bit 1 clear",
    "edgesdk/codecs/video/residual.py:core/ReplaceComparisonOperator_Eq_LtE:2":
        "tile <= 0 vs tile == 0: encode_residual refuses tile sizes outside 0..64 before this",
    "edgesdk/codecs/video/elv.py:core/ReplaceBinaryOperator_LShift_Mod:0":
        "read_video's default chunk_size 1 << 16 vs 1: only how many bytes each read asks for",
    "edgesdk/codecs/image/tiles.py:core/ReplaceBinaryOperator_FloorDiv_BitOr:13":
        "tiled_synthesize slicing ŷ to in_r1 | 16 instead of in_r1 // 16 (in_r1 is a multiple of 64) "
        "hands a tile every latent row below it: pixels equal up to float noise, since the halo already "
        "covers the generator's receptive field; only the tile's memory bound is lost (not tested)",
    "edgesdk/codecs/video/residual.py:core/ReplaceBinaryOperator_Add_BitXor:1":
        "_BITS_RANGE ^ 1 == _BITS_RANGE + 1 since _BITS_RANGE = 64 is even",
    "edgesdk/codecs/video/motion.py:core/ReplaceComparisonOperator_Eq_LtE:0":
        "compensate's fraction_bits <= 0 vs == 0: fraction bits are never negative (a header byte, "
        "checked against MAX_FRACTION_BITS; the encoder's option is validated)",
}


def annotation_spans(module: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions of the type annotations of a module that has
    ``from __future__ import annotations``: never evaluated, so mutants there are equivalent."""
    import ast

    tree = ast.parse(module.read_text())
    future = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
                 any(a.name == "annotations" for a in n.names) for n in tree.body)
    if not future:
        return []
    spans = []
    for node in ast.walk(tree):
        found = []
        if isinstance(node, ast.arg) and node.annotation is not None:
            found.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        spans += [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in found]
    return spans


def in_annotation(spec, spans_by_module: dict) -> bool:
    module = REPO / spec.module_path
    if module not in spans_by_module:
        spans_by_module[module] = annotation_spans(module)
    position = tuple(spec.start_pos)
    return any(start <= position < end for start, end in spans_by_module[module])


def clean_tree() -> bool:
    return subprocess.run(["git", "diff", "--quiet", "--", "edgesdk"], cwd=REPO).returncode == 0


def run_layer(layer: str, sample: int | None, seed: int, out: Path, timeout: float) -> dict:
    from cosmic_ray.work_db import use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    modules, tests = LAYERS[layer]
    config = out / f"{layer}.toml"
    session = out / f"{layer}.sqlite"
    session.unlink(missing_ok=True)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(modules)}\n"
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f'test-command = "{PYTEST} {tests}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    subprocess.run(["cosmic-ray", "init", str(config), str(session)], cwd=REPO, check=True)
    spans: dict = {}
    with use_db(str(session)) as db:
        items = list(db.work_items)
        annotations = [i for i in items if in_annotation(i.mutations[0], spans)]
        if annotations:  # equivalent by construction: not run, not counted
            db.set_multiple_results([i.job_id for i in annotations], WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
        items = [i for i in items if i not in annotations]
        total = len(items)
        if sample and sample < total:
            keep = {item.job_id for item in random.Random(f"{seed}:{layer}").sample(items, sample)}
            db.set_multiple_results([i.job_id for i in items if i.job_id not in keep],
                                    WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
    subprocess.run(["cosmic-ray", "exec", str(config), str(session)], cwd=REPO, check=True)
    killed, survived, equivalent, errors = 0, [], [], 0
    with use_db(str(session)) as db:
        for item, result in db.completed_work_items:
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.worker_outcome != WorkerOutcome.NORMAL or result.test_outcome != TestOutcome.SURVIVED:
                # killed by a failing test, a timeout (abnormal) or an exception on import (incompetent)
                killed += 1
                errors += result.test_outcome == TestOutcome.INCOMPETENT
                continue
            spec = item.mutations[0]
            if in_annotation(spec, spans):
                continue
            key = f"{spec.module_path}:{spec.operator_name}:{spec.occurrence}"
            entry = {"mutant": key, "line": spec.start_pos[0], "diff": result.diff}
            (equivalent if key in EQUIVALENT else survived).append(entry)
    return {"layer": layer, "mutants_in_layer": total, "annotation_mutants_skipped": len(annotations), "sampled": killed + len(survived) + len(equivalent),
            "killed": killed, "of_which_incompetent": errors, "survived": survived, "equivalent": equivalent,
            "score": killed / max(1, killed + len(survived))}


def recheck(report_path: Path) -> int:
    """Re-runs the layer tests against each surviving mutant of an earlier report (its diff
    applied with git apply, then reverted): how new tests are shown to kill old survivors."""
    reports = json.loads(report_path.read_text())
    still = 0
    for report in reports:
        _, tests = LAYERS[report["layer"]]
        for entry in report["survived"]:
            diff = "\n".join(line for line in entry["diff"].splitlines() if not line.startswith("--- mutation diff"))
            diff += "\n"
            module, operator = entry["mutant"].split(":")[:2]
            if "BitOr" in operator and any(start[0] <= entry["line"] <= end[0]
                                           for start, end in annotation_spans(REPO / module)):
                print(f"equivalent {entry['mutant']} (line {entry['line']}): inside a type annotation")
                continue
            applied = subprocess.run(["git", "apply", "-"], cwd=REPO, input=diff, text=True, capture_output=True)
            if applied.returncode:
                print(f"  cannot apply {entry['mutant']}: {applied.stderr.strip()[:200]}")
                continue
            try:
                result = subprocess.run(PYTEST.split() + tests.split(), cwd=REPO, capture_output=True, text=True,
                                        timeout=900)
            finally:
                subprocess.run(["git", "apply", "-R", "-"], cwd=REPO, input=diff, text=True, check=True)
            status = "killed" if result.returncode else "survived"
            still += status == "survived"
            failing = [line.split(" ")[1] for line in result.stdout.splitlines() if line.startswith("FAILED ")]
            print(f"{status:9} {entry['mutant']} (line {entry['line']}) {' '.join(failing[:2])}", flush=True)
    return 1 if still else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recheck", type=Path, help="re-test the survivors of this report.json and exit")
    parser.add_argument("--layer", action="append", choices=sorted(LAYERS), help="layers to run (default: all)")
    parser.add_argument("--sample", type=int, help="mutants per layer, drawn at random (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per mutant's test run")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "mutants")
    args = parser.parse_args()
    if not clean_tree():
        print("edgesdk/ has uncommitted changes; cosmic-ray mutates it in place: commit or stash first")
        return 2
    if args.recheck:
        return recheck(args.recheck)
    if not clean_tree():
        print("edgesdk/ has uncommitted changes; cosmic-ray mutates it in place: commit or stash first")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    reports = []
    try:
        for layer in args.layer or sorted(LAYERS):
            report = run_layer(layer, args.sample, args.seed, args.out, args.timeout)
            reports.append(report)
            print(f"{layer:10} score {report['killed']}/{report['killed'] + len(report['survived'])} killed "
                  f"({100 * report['score']:.0f}%) of {report['sampled']} sampled from {report['mutants_in_layer']}; "
                  f"{len(report['equivalent'])} equivalent", flush=True)
            for entry in report["survived"]:
                print(f"    survived {entry['mutant']} (line {entry['line']})\n" +
                      "\n".join("        " + line for line in (entry["diff"] or "").splitlines()), flush=True)
    finally:
        (args.out / "report.json").write_text(json.dumps(reports, indent=1))
        if not clean_tree():
            print("WARNING: edgesdk/ was left mutated; restore it with: git checkout -- edgesdk")
            return 2
    return 1 if any(r["survived"] for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
