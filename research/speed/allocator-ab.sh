#!/usr/bin/env bash
# Issue 23: does TensorFlow's pooling CPU allocator (TF_CPU_ALLOCATOR_USE_BFC=true, read when tfjs-node creates
# its CPU device, so the trainer could set it for itself before loading tfjs-node, with no re-launch) make the
# trainer's step faster? Fresh processes, alternating off / on, so both see the same machine load.
#   bash research/speed/allocator-ab.sh [pairs=3] [extra bench:train flags...]
set -u
cd "$(dirname "$0")/../.."
PAIRS="${1:-3}"; shift || true
ARGS=(--arch mobilenetv2 --size 128 --augment strong --backends tensorflow "$@")
for i in $(seq 1 "$PAIRS"); do
  for mode in off on; do
    if [ $mode = on ]; then export TF_CPU_ALLOCATOR_USE_BFC=true; else export TF_CPU_ALLOCATOR_USE_BFC=false; fi
    line=$(npm run -s bench:train -- "${ARGS[@]}" 2>/dev/null | grep "^| tensorflow:" | awk -F'|' '{print $4 "ms/batch median, min-max" $6}')
    echo "pair $i allocator-bfc=$mode load=$(cut -d' ' -f1 /proc/loadavg): $line"
  done
done
