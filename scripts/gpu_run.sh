#!/usr/bin/env bash
# One GPU job of at most ~8 minutes (an H100/H200 with 16 CPU cores) for the expensive half of the NB201 CIFAR-10
# claims: the highest-value shards first, resumable, stopped cleanly before the time limit, Parquet + manifests
# under $OUT. docs/benchmarks.md ("One short GPU job") describes it.
#
#   OUT=/tmp/out scripts/gpu_run.sh [--budget SECONDS] [--data-dir DIR] [--device cuda] [--threads N] [--dry-run]
#
# Five lanes run side by side on the one GPU (one `zcbench sweep run` process each, N torch threads each),
# every lane working down its list of sweep configs (configs/*.toml), most valuable first:
#   1. κ `code` (C16 N5) on Revisit's random-search cells → the 100-cell uniform sample → its seed subsample
#   2. short training (angle, angle_feat, loss) on Revisit's cells → the 200-cell uniform sample
#   3. κ `supernet` on Revisit's cells → the 1,000-cell sample → its seed subsample
#   4. MGM float32 `code` on the 1,000-cell sample → MGM float64 over all 15,625 cells
#   5. the gradient-family zoo over all cells → grasp and zico on the 1,000-cell sample → seeds 1–2 there
# Each `sweep run` gets `timeout -s TERM` with the time left to the deadline (start + budget): an interrupted
# sweep keeps its finished shards (atomic commits) and the next run of this script, or `zcbench sweep run` on
# the same config and --out, resumes it. Then every sweep is merged (`sweep merge`, or `--partial` for the
# finished shards of an unfinished one: partial.parquet + partial.json + manifest.json) and
# $OUT/gpu_run_summary.json lists, per sweep and proxy, rows, statuses, per-arch ms (the rows' `seconds`) and
# peak CUDA memory (the rows' diagnostics `cuda_peak_mb`, written by benchmarks/sweep/worker.py on CUDA).
#
# The configs say device = "cpu" (so that `sweep validate` passes on a CPU machine); the job runs copies in
# $OUT/configs with `device` switched to --device, next to a copy of the index file they read. `device` is not
# part of a plan's fingerprint, so the GPU shards and a CPU run of the original config resume each other.
# --dry-run prepares the copies, checks each plan's fingerprint against the original config's and prints the
# commands, computing nothing (on a CPU: `--device cpu --dry-run` also validates data and device).
# Environment: ZCBENCH (the CLI; default .venv/bin/zcbench, else `zcbench` on PATH), PYTHON (for the summary),
# GPU_RUN_LANES (replace the lanes: lanes separated by ';', configs by spaces), GPU_RUN_CONFIG_DIR (where the
# lanes' configs live, default configs/; tests use both).
set -euo pipefail

BUDGET=450          # seconds of sweeps; the merges and the summary take well under a minute after that
DATA_DIR="${ZCBENCH_DATA:-../shared/data}"
DEVICE=cuda
THREADS=4
DRY_RUN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --budget) BUDGET="$2"; shift 2 ;;
        --data-dir) DATA_DIR="$2"; shift 2 ;;
        --device) DEVICE="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "gpu_run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$BUDGET" in ''|*[!0-9]*) echo "gpu_run.sh: --budget needs whole seconds, got '$BUDGET'" >&2; exit 2 ;; esac
: "${OUT:?gpu_run.sh: set OUT to the output directory}"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
if [ -n "${ZCBENCH:-}" ]; then :; elif [ -x .venv/bin/zcbench ]; then ZCBENCH=.venv/bin/zcbench; else ZCBENCH=zcbench; fi
if [ -n "${PYTHON:-}" ]; then :; elif [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi

LANES="${GPU_RUN_LANES:-nb201_ntk_code_revisit_search_cells nb201_ntk_code_sample100 nb201_ntk_code_seeds_sample30;\
nb201_shorttrain_revisit_search_cells nb201_shorttrain_sample200;\
nb201_ntk_revisit_search_cells nb201_ntk_supernet_sample1000 nb201_ntk_supernet_seeds_sample200;\
nb201_mgm_code_float32_sample1000 nb201_mgm_cifar10;\
nb201_zoo_cifar10 nb201_zoo_sample1000 nb201_zoo_seeds_sample1000}"

CONFIG_DIR="${GPU_RUN_CONFIG_DIR:-configs}"
mkdir -p "$OUT/configs" "$OUT/sweeps" "$OUT/logs"
START=$(date +%s)
DEADLINE=$((START + BUDGET))

# ---------------------------------------------------------------- the configs, switched to the job's device
ALL=()
IFS=';' read -r -a LANE_LIST <<< "$LANES"
for lane in "${LANE_LIST[@]}"; do
    for name in $lane; do
        src="$CONFIG_DIR/$name.toml"
        [ -f "$src" ] || { echo "gpu_run.sh: no config $src" >&2; exit 2; }
        sed "s/^device = \"[a-z0-9:]*\"/device = \"$DEVICE\"/" "$src" > "$OUT/configs/$name.toml"
        ALL+=("$name")
    done
done
cp "$CONFIG_DIR"/*.txt "$OUT/configs/" 2>/dev/null || true  # index files the configs read (relative to the config)

fingerprint() {  # the plan fingerprint of a config (no device check, no data read)
    "$ZCBENCH" sweep plan "$1" --data-dir "$DATA_DIR" --json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])'
}

run_cmd() { echo "$ZCBENCH sweep run $OUT/configs/$1.toml --out $OUT/sweeps/$1 --data-dir $DATA_DIR --executor serial --threads $THREADS"; }

if [ "$DRY_RUN" = 1 ]; then
    for name in "${ALL[@]}"; do
        ours=$(fingerprint "$OUT/configs/$name.toml"); theirs=$(fingerprint "$CONFIG_DIR/$name.toml")
        if [ "$ours" != "$theirs" ]; then
            echo "gpu_run.sh: $name: the $DEVICE copy plans $ours, the config $theirs" >&2; exit 1
        fi
        if [ "$DEVICE" = cpu ]; then "$ZCBENCH" sweep validate "$OUT/configs/$name.toml" --data-dir "$DATA_DIR" >/dev/null; fi
        echo "dry-run $name (fingerprint $ours): $(run_cmd "$name")"
    done
    exit 0
fi

# ------------------------------------------------------------------------------------------- the lanes
run_lane() {
    for name in $1; do
        left=$((DEADLINE - $(date +%s)))
        if [ "$left" -le 10 ]; then echo "$name: not started (budget spent)" >> "$OUT/logs/lanes.log"; continue; fi
        rc=0
        # SIGTERM, not SIGINT: background jobs of a script ignore SIGINT. A killed run loses only the shard it was
        # computing (shards are committed by an atomic rename; the flock is released with the process).
        timeout -s TERM -k 15 "$left" "$ZCBENCH" sweep run "$OUT/configs/$name.toml" --out "$OUT/sweeps/$name" \
            --data-dir "$DATA_DIR" --executor serial --threads "$THREADS" >> "$OUT/logs/$name.log" 2>&1 || rc=$?
        echo "$name: sweep run exit $rc after $(( $(date +%s) - START )) s" >> "$OUT/logs/lanes.log"
    done
}

pids=()
for lane in "${LANE_LIST[@]}"; do
    run_lane "$lane" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done

# ------------------------------------------------------------------------------- merge and summarise
for name in "${ALL[@]}"; do
    [ -f "$OUT/sweeps/$name/sweep.json" ] || continue
    cfg="$OUT/configs/$name.toml"
    "$ZCBENCH" sweep merge "$cfg" --out "$OUT/sweeps/$name" --data-dir "$DATA_DIR" >> "$OUT/logs/merge.log" 2>&1 ||
        "$ZCBENCH" sweep merge "$cfg" --out "$OUT/sweeps/$name" --data-dir "$DATA_DIR" --partial >> "$OUT/logs/merge.log" 2>&1 ||
        echo "$name: nothing to merge (no finished shard)" >> "$OUT/logs/merge.log"
done

"$PYTHON" - "$OUT" "$START" "$BUDGET" "$DEVICE" <<'PY'
"""Per sweep and proxy: rows, statuses, per-arch ms and peak CUDA memory, from the merged (or partial) tables."""
import json
import sys
import time
from pathlib import Path

import pandas as pd

out, start, budget, device = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
summary = {"device": device, "budget_s": budget, "wall_s": round(time.time() - start, 1), "sweeps": {}}
for folder in sorted((out / "sweeps").iterdir()):
    table = next((folder / name for name in ("merged.parquet", "partial.parquet") if (folder / name).exists()), None)
    if table is None:
        summary["sweeps"][folder.name] = {"table": None}
        continue
    rows = pd.read_parquet(table)
    manifest = json.loads(table.with_suffix(".json").read_text())
    per_proxy = {}
    for (proxy, digest), group in rows.groupby(["proxy", "settings_hash"]):
        peaks = [json.loads(d).get("cuda_peak_mb") for d in group["diagnostics"]]
        peaks = [p for p in peaks if p is not None]
        ms = group["seconds"] * 1000.0
        per_proxy[f"{proxy}#{digest}"] = {
            "rows": len(group), "archs": int(group["arch"].nunique()),
            "status": group["status"].value_counts().to_dict(), "device": sorted(set(group["device"])),
            "ms_per_arch": {"median": round(float(ms.median()), 1), "p90": round(float(ms.quantile(0.9)), 1),
                            "max": round(float(ms.max()), 1)},
            "cuda_peak_mb": {"median": round(float(pd.Series(peaks).median()), 1),
                             "max": round(float(max(peaks)), 1)} if peaks else None}
    summary["sweeps"][folder.name] = {"table": table.name, "complete": manifest.get("complete"),
                                      "rows": len(rows), "planned_rows": manifest.get("planned_rows"),
                                      "proxies": per_proxy}
(out / "gpu_run_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
print(json.dumps({name: (s.get("rows"), s.get("planned_rows")) for name, s in summary["sweeps"].items()}))
PY
