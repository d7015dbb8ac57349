#!/usr/bin/env bash
# Debian packages the full test suite needs beyond a C++ compiler and Python:
# aarch64 cross compiler + qemu-user (bit-exactness on Jetson-class CPUs) and clang with
# libFuzzer (fuzz smoke runs), and GStreamer's RTSP server for the system python3
# (tests/rtsp_server.py, used by tests/media/test_media.py). Without them those tests skip
# locally; CI requires them.
set -euo pipefail
packages=(g++ g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user clang libclang-rt-14-dev
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
