#!/usr/bin/env bash
# Installs the Debian libraries Qt needs (offscreen and on a desktop) when they are missing.
set -euo pipefail
declare -A needed=(
  [libEGL.so.1]=libegl1 [libGL.so.1]=libgl1 [libfontconfig.so.1]=libfontconfig1
  [libxkbcommon.so.0]=libxkbcommon0 [libdbus-1.so.3]=libdbus-1-3 [libglib-2.0.so.0]=libglib2.0-0
  [libxkbcommon-x11.so.0]=libxkbcommon-x11-0 [libxcb-cursor.so.0]=libxcb-cursor0
  [libxcb-icccm.so.4]=libxcb-icccm4 [libxcb-keysyms.so.1]=libxcb-keysyms1
  [libxcb-shape.so.0]=libxcb-shape0 [libxcb-randr.so.0]=libxcb-randr0
  [libxcb-render-util.so.0]=libxcb-render-util0 [libxcb-image.so.0]=libxcb-image0
  [libxcb-xkb.so.1]=libxcb-xkb1 [libfreetype.so.6]=libfreetype6
  [libpulse.so.0]=libpulse0   # QtMultimedia (the Live tab) links it even for video files
)
command -v ldconfig >/dev/null || exit 0   # not Linux/glibc: nothing to do
missing=()
for lib in "${!needed[@]}"; do
  ldconfig -p | grep -q "$lib" || missing+=("${needed[$lib]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Qt system libraries: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "warning: Qt may need these system packages: ${missing[*]} (install them with your package manager)" >&2
fi
