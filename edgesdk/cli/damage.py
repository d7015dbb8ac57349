"""One-line summaries of what a damaged latent video lost (``edgesdk decode``, ``edgesdk info``)."""

from __future__ import annotations


def damage_summary(stats, reader_stats) -> str | None:
    """What a damaged latent video lost, in one line; None when nothing was."""
    parts = []
    if reader_stats.damaged_packets:
        parts.append(f"{reader_stats.damaged_packets} damaged packet(s)")
    if reader_stats.lost_packets:
        parts.append(f"{reader_stats.lost_packets} lost packet(s)")
    if reader_stats.skipped_bytes:
        parts.append(f"{reader_stats.skipped_bytes} unreadable byte(s)")
    if stats.dropped_frames:
        parts.append(f"{stats.dropped_frames} frame(s) dropped")
    if stats.missing_frames:
        parts.append(f"{stats.missing_frames} frame(s) missing")
    truncated = any("ends inside a packet" in event for event in reader_stats.events)
    if truncated:
        parts.append("the file is truncated")
    return ", ".join(parts) if parts else None
