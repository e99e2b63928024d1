#!/usr/bin/env bash
# Renders an HTML file (e.g. the output of `pathway report`) to a PNG with headless Chromium, so the
# report can be looked at the way a browser shows it. Installs Debian's chromium when it is missing.
#
#   tools/render-report.sh REPORT.html [OUT.png] [WIDTH] [HEIGHT]
#
# OUT defaults to REPORT.png next to the input; the window is 1280×2400 unless given. Chromium only
# captures the window, so pass a taller HEIGHT to see a long report whole.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 4 || "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
fi

html="$1"
[[ -f "$html" ]] || { echo "render-report: no such file: $html" >&2; exit 66; }
out="${2:-${html%.html}.png}"
width="${3:-1280}"
height="${4:-2400}"

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then browser="$candidate"; break; fi
done
if [[ -z "$browser" ]]; then
    echo "render-report: installing chromium (Debian package)…" >&2
    sudo_cmd=""
    if [[ $(id -u) -ne 0 ]]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
    browser=chromium
fi

abs_html="$(cd "$(dirname "$html")" && pwd)/$(basename "$html")"
abs_out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT

# --no-sandbox: containers and CI usually run as root, where Chromium's sandbox refuses to start.
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
    --window-size="${width},${height}" --screenshot="$abs_out" "file://$abs_html" >/dev/null 2>&1 || true

if [[ ! -s "$abs_out" ]]; then
    echo "render-report: chromium wrote no picture for $html" >&2
    exit 70
fi
echo "$abs_out"
