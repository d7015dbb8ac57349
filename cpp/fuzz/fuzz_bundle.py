"""Fuzz target for bundle loading (docs/fuzzing.md, "Bundles"): ``Bundle.open`` on archive bytes,
then the model-level checks (manifest fields, model ids, graph dependencies), must end in
success or an ``edgesdk.Error``; anything else is a finding.

Two drivers share :func:`one_input`:

- atheris (libFuzzer for Python), when installed: ``python cpp/fuzz/fuzz_bundle.py -atheris
  [libFuzzer flags]``;
- a seeded, structure-aware mutation loop otherwise (and in the test suite's smoke run):
  ``python cpp/fuzz/fuzz_bundle.py --inputs 1000000 --seed 1``. Its mutations work at three
  levels: raw bytes of a valid archive (flips, overwrites at ZIP header fields, truncation,
  splices), ZIP structure (entries rewritten with valid CRCs: renamed, duplicated, dropped,
  methods and flags changed, counts and offsets in the end record) and manifest JSON (values
  replaced by hostile ones: 1e999, lone surrogates, booleans, deep nesting, colliding quality
  keys, …, with the files table kept consistent so checks further in are reached).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import struct
import sys
import tempfile
import time
import traceback
import zipfile
from pathlib import Path

import edgesdk
from edgesdk.bundle import Bundle, write_bundle
from edgesdk.bundle.graph_check import check_graph
from edgesdk.bundle.manifest import check_model_ids, graph_references, model_id_of, quality_entries, serialize_manifest

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
HOSTILE_VALUES = [1e308, -1, 0, 2**64, True, False, None, "", "\ud800", "03", "../x", [], {}, 1.5, "nan",
                  "q1/graph.onnx", "0" * 64, "f" * 63, {"file": "missing"}, [[[[[]]]]], 10**400]


def _onnx_seed() -> bytes:
    """A tiny ONNX ModelProto, hand-encoded (ir_version, opset 18, a graph with one Identity node
    and one initializer), so the graph checker is fuzzed without the onnx package."""
    def field(number, data):
        return _varint(number << 3 | 2) + _varint(len(data)) + data

    tensor = field(8, b"w") + _varint(2 << 3 | 0) + _varint(1) + field(9, struct.pack("<f", 1.0))
    node = field(1, b"x") + field(2, b"y") + field(4, b"Identity")
    graph = field(1, node) + field(2, b"g") + field(5, tensor)
    opset = field(1, b"") + _varint(2 << 3) + _varint(18)
    return _varint(1 << 3) + _varint(9) + field(8, opset) + field(7, graph)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def seed_parts() -> tuple[dict, dict[str, bytes]]:
    """(manifest, files) of a small bundle with the codec layout (not a working codec)."""
    files = {"q1/generator.fp32.onnx": _onnx_seed(), "q1/compressor.fp32.onnx": _onnx_seed(),
             "q1/hyper_tables.ecdf": bytes(range(64)), "q1/latent_tables.ecdf": bytes(64),
             "q1/hyper_synthesis.eint": b"EINT" + bytes(20)}
    level = {"model_id": "0" * 64, "lambda": 0.01,
             "graphs": {"compressor": {"fp32": {"file": "q1/compressor.fp32.onnx"}},
                        "generator": {"fp32": {"file": "q1/generator.fp32.onnx"}}},
             "integer_data": {"hyper_tables": "q1/hyper_tables.ecdf", "latent_tables": "q1/latent_tables.ecdf",
                              "hyper_synthesis": "q1/hyper_synthesis.eint", "latent_channels": 8,
                              "mean_fraction_bits": 4}}
    manifest = {"model": {"family": "hyperprior-image", "config": {"M": 8, "N": 4}}, "qualities": {"1": level}}
    table = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()}
    level["model_id"] = model_id_of({**manifest, "files": table}, 1)
    return manifest, files


def archive_bytes(manifest: dict, files: dict[str, bytes], signature: bytes | None = None) -> bytes:
    """A bundle archive as the writer lays it out, with ``files`` hashed into the manifest."""
    if isinstance(manifest, dict):
        manifest = dict(manifest)
        manifest["schema"], manifest["schema_version"] = "edgesdk.bundle", 1
        manifest["files"] = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for n, d in files.items()}
    try:
        manifest_bytes = serialize_manifest(manifest)
    except (edgesdk.Error, RecursionError):
        try:
            manifest_bytes = json.dumps(manifest, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
        except (RecursionError, ValueError, TypeError):
            manifest_bytes = b"[" * 100_000
    entries = [("manifest.json", manifest_bytes), *sorted(files.items())]
    if signature is not None:
        entries.append(("manifest.sig", signature))
    return _zip(entries)


def _zip(entries, method=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def one_input(data: bytes, path: Path) -> str:
    """Opens ``data`` as a bundle archive and runs the model-level checks; returns the outcome
    ("opened", "model" or the edgesdk error class); raises only what is not an edgesdk.Error."""
    path.write_bytes(data)
    try:
        bundle = Bundle.open(path)
    except edgesdk.Error as error:
        return type(error).__name__
    outcome = "opened"
    # Each model-level check on its own, so that one failing does not hide the others.
    checks = [lambda: quality_entries(bundle.manifest), lambda: check_model_ids(bundle.manifest)]
    checks += [lambda name=name: check_graph(name, bundle.read(name)) for name in graph_references(bundle.manifest)]
    for check in checks:
        try:
            check()
        except edgesdk.Error:
            outcome = "opened, model refused"
    return outcome


# --------------------------------------------------------------------------- mutations

def _mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    data = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 8))):
        kind = rng.randrange(7)
        if not data:
            break
        at = rng.randrange(len(data))
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[at] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif kind == 2:  # a ZIP structure field: near a signature, write a hostile integer
            signatures = [i for i in range(len(data) - 4) if data[i:i + 2] == b"PK"] or [0]
            base = rng.choice(signatures) + rng.randrange(4, 46)
            value = rng.choice((0, 1, 0xFFFF, 0xFFFFFFFF, 8, 4098, 77710, len(data), rng.randrange(1 << 32)))
            size = rng.choice((2, 4))
            if base + size <= len(data):
                data[base:base + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")
        elif kind == 3:
            del data[at:]
        elif kind == 4:
            end = min(len(data), at + rng.randrange(1, 64))
            data[at:at] = data[at:end]
        elif kind == 5:
            del data[at:at + rng.randrange(1, 64)]
        else:
            data[at:at] = rng.randbytes(rng.randrange(1, 16))
    return bytes(data)


def _hostile(rng: random.Random):
    choice = rng.choice(HOSTILE_VALUES)
    if choice == [[[[[]]]]] and rng.random() < 0.1:
        nested = []
        for _ in range(rng.choice((50, 500, 5000))):
            nested = [nested]
        return nested
    return choice


def _mutate_tree(rng: random.Random, value):
    """A copy of a JSON tree with one node replaced, removed or added."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        out = dict(value)
        action = rng.randrange(4)
        if action == 0:
            out[key] = _hostile(rng)
        elif action == 1:
            del out[key]
        elif action == 2:
            out[rng.choice(("03", "1", "\udfff", "x", key + "0", " " + key))] = out[key]
        else:
            out[key] = _mutate_tree(rng, value[key])
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out = list(value)
        at = rng.randrange(len(out))
        out[at] = _mutate_tree(rng, out[at]) if rng.random() < 0.5 else _hostile(rng)
        return out
    return _hostile(rng)


def _mutate_structure(rng: random.Random, manifest: dict, files: dict[str, bytes]) -> bytes:
    files = dict(files)
    kind = rng.randrange(6)
    if kind == 0:
        manifest = _mutate_tree(rng, manifest)
    elif kind == 1:  # a file's content (graphs: the checker; others: hashes stay consistent)
        name = rng.choice(sorted(files))
        files[name] = _mutate_bytes(rng, files[name])
    elif kind == 2:  # an extra, missing or renamed entry
        data = archive_bytes(manifest, files)
        entries = _entries(data)
        action = rng.randrange(3)
        if action == 0:
            entries.append((rng.choice(("extra", "../x", "q1/GENERATOR.fp32.onnx", "manifest.json", "a\0b")), b"x"))
        elif action == 1 and len(entries) > 1:
            entries.pop(rng.randrange(len(entries)))
        else:
            at = rng.randrange(len(entries))
            entries[at] = (entries[at][0] + rng.choice(("/", "x", "/y")), entries[at][1])
        try:
            return _zip(entries, rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)))
        except (ValueError, UnicodeError):
            return data
    elif kind == 3:
        return archive_bytes(manifest, files, signature=rng.randbytes(rng.choice((64, 64, 63, 65))))
    elif kind == 4:  # raw manifest text: the JSON parser's edge
        text = json.dumps(manifest)
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(('1e999', '-0', '"\\ud800"', 'true', 'NaN', '{"a":1,"a":2}', '[' * 3000,
                                       '"', ',', '}', '\\u0000')) + text[at + rng.randrange(0, 8):]
        entries = _entries(archive_bytes(manifest, files))
        entries[0] = ("manifest.json", text.encode("utf-8", "surrogatepass"))
        return _zip(entries)
    data = archive_bytes(manifest, files)
    return _mutate_bytes(rng, data) if kind == 5 else data


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(i.filename, archive.read(i)) for i in archive.infolist()]


def mutants(seed: int):
    """An endless stream of inputs from the seed bundles."""
    rng = random.Random(seed)
    manifest, files = seed_parts()
    bases = [archive_bytes(manifest, files), archive_bytes(manifest, files, signature=bytes(64)),
             archive_bytes({}, {"a": b"1"})]
    while True:
        if rng.random() < 0.5:
            yield _mutate_bytes(rng, rng.choice(bases))
            continue
        try:
            yield _mutate_structure(rng, manifest, files)
        except (RecursionError, ValueError, TypeError, UnicodeError, zipfile.BadZipFile):
            yield rng.choice(bases)  # the mutator's own limits (not the target's)


def run(inputs: int, seed: int, report_every: int = 0, out=sys.stdout) -> dict:
    """Runs ``inputs`` mutants; returns counts. An error that is not an edgesdk.Error is
    collected (first 20 kept with their inputs' sha256) rather than stopping the run."""
    stats = {"inputs": 0, "untyped": 0, "outcomes": {}, "findings": [], "seconds": 0.0}
    start = time.monotonic()
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    with tempfile.TemporaryDirectory(dir=folder) as temporary:
        path = Path(temporary) / "fuzz.edgesdk"
        generator = mutants(seed)
        for index in range(inputs):
            data = next(generator)
            try:
                outcome = one_input(data, path)
                stats["outcomes"][outcome] = stats["outcomes"].get(outcome, 0) + 1
            except Exception as error:  # noqa: BLE001 - the point of the run
                stats["untyped"] += 1
                if len(stats["findings"]) < 20:
                    stats["findings"].append({"sha256": hashlib.sha256(data).hexdigest(), "error": repr(error)[:300],
                                              "trace": traceback.format_exc()[-1500:]})
            stats["inputs"] += 1
            if report_every and (index + 1) % report_every == 0:
                print(json.dumps({k: v for k, v in stats.items() if k != "findings"}
                                 | {"seconds": round(time.monotonic() - start, 1)}), file=out, flush=True)
    stats["seconds"] = round(time.monotonic() - start, 1)
    return stats


def _atheris_main(argv: list[str]) -> None:
    import atheris

    folder = tempfile.mkdtemp()
    path = Path(folder) / "fuzz.edgesdk"

    def target(data: bytes) -> None:
        one_input(data, path)  # anything that is not an edgesdk.Error propagates: a finding

    atheris.Setup(argv, target)
    atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.simplefilter("ignore")  # zipfile's duplicate-name warnings while mutating
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["-atheris"]:
        _atheris_main([sys.argv[0], *argv[1:]])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--report-every", type=int, default=50_000)
    args = parser.parse_args(argv)
    stats = run(args.inputs, args.seed, args.report_every)
    print(json.dumps(stats, indent=1))
    return 1 if stats["untyped"] else 0


if __name__ == "__main__":
    sys.exit(main())
