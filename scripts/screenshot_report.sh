#!/usr/bin/env bash
# Render a `zcbench reproduce` report in headless Chromium at 1400 px width: save a PNG screenshot (the
# first screen by default; a larger HEIGHT shows more) and print the page's scroll width, which must not
# exceed 1400 (no horizontal overflow). Keep the screenshot out of the repository.
#   scripts/screenshot_report.sh REPORT.html [OUT.png] [HEIGHT]
# Needs the Debian package `chromium` (apt-get install -y chromium).
set -euo pipefail
report=${1:?usage: scripts/screenshot_report.sh REPORT.html [OUT.png] [HEIGHT]}
out=$(realpath -m "${2:-report-1400.png}")
height=${3:-900}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome) || {
    echo "no Chromium found: apt-get install -y chromium" >&2; exit 2; }
run() { "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="1400,${height}" "$@" \
            2>/dev/null; }
run --screenshot="$out" "file://$(realpath "$report")"
# The scroll width, measured by a script appended to a temporary copy of the page.
probe=$(mktemp --suffix=.html)
trap 'rm -f "$probe"' EXIT
{ cat "$report"; echo "<script>document.body.setAttribute('data-scroll-width',"\
"document.documentElement.scrollWidth)</script>"; } > "$probe"
width=$(run --dump-dom "file://$probe" | grep -o 'data-scroll-width="[0-9]*"' | grep -o '[0-9]\+')
echo "screenshot: $out; page scroll width: ${width} px at a 1400 px window"
[ "$width" -le 1400 ] || { echo "horizontal overflow" >&2; exit 1; }
