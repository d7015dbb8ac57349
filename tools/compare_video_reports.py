#!/usr/bin/env python3
"""Compares ``edgesdk eval`` reports of one clip made with different presets: one RD plot with
every report's curve (its Pareto front) and the anchors of the first, and the BD-rate of each
later report against the first.

    python tools/compare_video_reports.py OUT.png BASE/video_report.json:exhaustive \\
        FC/video_report.json:fixed-camera RT/video_report.json:realtime

Each argument is a report path, optionally ``:LABEL``. BD-rate over the common PSNR range
(edgesdk.eval.video_evaluation.bd_rates: cubic fit of log rate on RGB PSNR).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edgesdk.eval.curves import as_curve, rd_plot
from edgesdk.eval.video_evaluation import bd_rates
from edgesdk.eval.video_report import pareto


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the RD plot to write (.png)")
    parser.add_argument("reports", nargs="+", help="video_report.json[:LABEL]; the first is the baseline")
    args = parser.parse_args()
    loaded = []
    for spec in args.reports:
        path, _, label = spec.partition(":")
        report = json.loads(Path(path).read_text())
        loaded.append((label or Path(path).parent.name, report, pareto(report["points"])))
    _, first, base = loaded[0]
    curves = {name: curve for name, curve in first["curves"].items() if name != "edgesdk"}
    for label, report, front in loaded:
        curves[f"edgesdk {label}"] = as_curve(front, label=f"edgesdk {label}")
        anchors = ", ".join(f"{name} {value:+.1f}%" for name, value in report["bd_rate_percent"].items()
                            if value is not None)
        bd = None if report is first else bd_rates(base, front)
        versus = "" if report is first else \
            f"; against {loaded[0][0]}: {'n/a (fewer than 4 points or no overlap)' if bd is None else f'{bd:+.1f}%'}"
        print(f"{label}: BD-rate against {anchors or 'the anchors: n/a (no PSNR overlap)'}{versus}")
    rd_plot(curves, args.out, title=f"{Path(first['clip']).stem}, {first['frames']} frames, "
                                    f"keyframe every {first['keyframe_interval']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
