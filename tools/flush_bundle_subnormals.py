#!/usr/bin/env python3
"""One-off migration: a bundle's fp32 graphs with subnormal weights set to zero.

Bundles exported before ``onnx_export.flush_subnormal_weights`` carry a few hundred subnormal
float32 weights per graph, which slow x86 CPUs down 1.5-3.6x (docs/decisions.md). This
rewrites the fp32 graphs (fp16 and int8 graphs have none), recomputes each quality's model
id (it covers the fp32 weights, so streams of the old bundle do not decode with the new
one), and keeps everything else, parity figures included: the weights changed by less than
1.2e-38 each.

    python tools/flush_bundle_subnormals.py OLD.edgesdk NEW.edgesdk
"""

from __future__ import annotations

import json
import sys

import onnx

from edgesdk.bundle import Bundle, write_bundle
from edgesdk.bundle.manifest import quality_levels
from edgesdk.bundle.manifest import file_table, model_id_of
from edgesdk_export.onnx_export import flush_subnormal_weights


def main(source: str, destination: str) -> int:
    bundle = Bundle.open(source)
    manifest = json.loads(bundle.manifest_bytes)
    files = {name: bundle.read(name) for name in bundle.names()}
    for quality, entry in quality_levels(manifest).items():
        for graph in entry["graphs"].values():
            name = graph["fp32"]["file"]
            proto = onnx.load_from_string(files[name])
            count = flush_subnormal_weights(proto)
            files[name] = proto.SerializeToString()
            print(f"{name}: {count} subnormal weights set to zero")
        entry["model_id"] = model_id_of({**manifest, "files": file_table(files)}, int(quality))
    print(f"wrote {write_bundle(destination, manifest, files, overwrite=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
