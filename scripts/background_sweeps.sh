#!/usr/bin/env bash
# Run sweep configs one after another in the background, in a detached git worktree of HEAD (so edits to
# this checkout never reach a running sweep), and fold the finished shards back into this checkout as
# they come: every EVERY minutes a partial merge (`zcbench sweep merge --partial`), the index, and a
# commit of only that sweep's folder and results/INDEX.md (`git commit -- PATHS`, so nothing else staged
# here is swept in). A sweep that finishes is merged in full, its shards and partial table removed, and
# committed; the manifest keeps the `claims` of its partial manifest. A session that ends loses at most
# the shards finished since the last fold; the next run of this script resumes from the committed ones.
#   nohup nice -n 5 scripts/background_sweeps.sh --data-dir ../shared/data [--every 40] [--workers 2] \
#       configs/A.toml configs/B.toml > sweeps.log 2>&1 &
# Stop: kill the script, then `pkill -TERM -f "sweep run configs/"` (finished shards are kept).
set -euo pipefail
usage="usage: scripts/background_sweeps.sh --data-dir DIR [--every MIN] [--workers N] CONFIG.toml..."
data_dir="" every=40 workers=2 configs=()
while [ $# -gt 0 ]; do
    case $1 in
        --data-dir) data_dir=$(realpath "${2:?$usage}"); shift 2 ;;
        --every) every=${2:?$usage}; shift 2 ;;
        --workers) workers=${2:?$usage}; shift 2 ;;
        -*) echo "$usage" >&2; exit 2 ;;
        *) configs+=("$1"); shift ;;
    esac
done
[ -n "$data_dir" ] && [ ${#configs[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
repo=$(git rev-parse --show-toplevel)
cd "$repo"
python=${PYTHON:-$repo/.venv/bin/python}
zcbench() { "$python" -m zcbench.cli "$@"; }
for config in "${configs[@]}"; do zcbench sweep validate "$config" --data-dir "$data_dir" > /dev/null; done
worktree=$(realpath -m "$repo/../sweeprun/$(git rev-parse --short HEAD)-$$")
git worktree add --detach "$worktree" HEAD > /dev/null
# An editable install maps zcbench.spaces … zcbench.reports to this checkout's folders; links in the
# worktree's zcbench/ make the sweep import the worktree's own copy (and stamp its commit) instead.
for layer in spaces proxies benchmarks reports; do ln -s "../$layer" "$worktree/zcbench/$layer"; done
(cd "$worktree" && PYTHONPATH=$worktree "$python" -c 'import sys, zcbench.benchmarks.provenance as p
sys.exit(0 if str(p.SOURCE_ROOT) == sys.argv[1] else f"the sweep would import {p.SOURCE_ROOT}")' "$worktree")
set +e  # from here on a failed fold is retried at the next one; only the queue's order matters
log() { echo "$(date -u +%FT%TZ) $*"; }

out_of() { zcbench sweep status "$1" --json --data-dir "$data_dir" | "$python" -c \
    'import json, sys; print(json.load(sys.stdin)["out"])'; }

fold() {  # fold(CONFIG, OUT, complete): bring finished shards home, merge, index, commit
    local config=$1 out=$2 complete=$3 name shards
    name=$(basename "$config" .toml)
    mkdir -p "$out/shards"
    for sidecar in "$worktree/$out"/shards/*.json; do
        [ -e "$sidecar" ] || continue
        shard=$(basename "$sidecar" .json)
        [ -e "$out/shards/$shard.json" ] || cp "$worktree/$out/shards/$shard".{parquet,json} "$out/shards/"
    done
    cp "$worktree/$out"/{run.log,sweep.json} "$out/" 2>/dev/null || true
    shards=$(find "$out/shards" -name '*.parquet' | wc -l)
    if [ "$complete" = yes ]; then
        # the full merge drops partial.* and writes a manifest that lists no shard; then the shards go
        zcbench sweep merge "$config" --data-dir "$data_dir" > /dev/null || return 0
        git rm -rq --cached --ignore-unmatch "$out/shards" > /dev/null
        rm -rf "$out/shards"
        message="results: $name complete — $shards shards merged"
    else
        [ "$shards" -gt 0 ] || return 0
        zcbench sweep merge "$config" --data-dir "$data_dir" --partial > /dev/null || return 0
        message="results: $name — $shards finished shards merged (partial)"
    fi
    zcbench results index > /dev/null || true
    git add -A -- "$out" results/INDEX.md
    if ! git diff --cached --quiet -- "$out" results/INDEX.md; then
        git commit -q -m "$message" -- "$out" results/INDEX.md && log "$message"
    fi
}

for config in "${configs[@]}"; do
    out=$(out_of "$config")
    log "start $config → $out"
    (cd "$worktree" && PYTHONPATH=$worktree OMP_NUM_THREADS=1 "$python" -m zcbench.cli sweep run "$config" \
        --data-dir "$data_dir" --executor process --workers "$workers" --threads 1) &
    pid=$!
    while kill -0 "$pid" 2> /dev/null; do
        for _ in $(seq "$((every * 6))"); do kill -0 "$pid" 2> /dev/null && sleep 10; done
        kill -0 "$pid" 2> /dev/null && fold "$config" "$out" no
    done
    if wait "$pid"; then fold "$config" "$out" yes; else log "$config: sweep run failed"; fold "$config" "$out" no; fi
done
git worktree remove --force "$worktree"
log "queue done"
