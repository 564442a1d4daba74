#!/usr/bin/env bash
# Issue 18's speed target in one session: OnnxNetBench (siamese4j) and ONNX Runtime Java (bench/onnx-peer) on
# the same .onnx files, alternated (ours, ORT, ours, ORT, ...) so that the machine's drift shows in both.
# Batch 1 on 1 thread (latency, ms) and batch 64 on 2 threads (images/s), as a markdown table.
# Usage, from the repository root, on an otherwise idle machine:
#   ./mvnw -B -ntp -q -DskipTests package && bash bench/onnx-same-run.sh [--rounds N] [--out DIR] [MODEL...]
#   MODEL: a fixture bundled in the bench jar (mobilefacenet_like, resnet_small: the default is both) or a path
#   --rounds: how many times each side runs (default 2)
# Raw results (JMH JSON, ORT output, uptime before each step) go to DIR (default: a new folder under /tmp).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=2
OUT=
MODELS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --rounds) ROUNDS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -*) echo "onnx-same-run.sh: unknown option '$1'; valid: --rounds N, --out DIR" >&2; exit 2 ;;
    *) MODELS+=("$1") ;;
  esac
  shift
done
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=(mobilefacenet_like resnet_small)
OUT=${OUT:-$(mktemp -d /tmp/siamese4j-onnx-same-run.XXXXXX)}
mkdir -p "$OUT"
JAVA=${JAVA:-java}
JAR=bench/target/benchmarks.jar
[[ -f $JAR ]] || { echo "onnx-same-run.sh: $JAR is missing; build it with ./mvnw -B -ntp -q -DskipTests package" >&2; exit 2; }
onnx_file() {   # the file ORT reads for a model: the fixture the bench jar bundles, or the path itself
  case $1 in
    mobilefacenet_like|resnet_small) echo "core/src/test/resources/org/siamese4j/onnx/$1_opset13.onnx" ;;
    *) echo "$1" ;;
  esac
}
IFS=, MODEL_LIST="${MODELS[*]}"; unset IFS

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') (family $(sed -n 's/^cpu family\t*: //p' /proc/cpuinfo | head -1), model $(sed -n 's/^model\t*: //p' /proc/cpuinfo | head -1)), $(nproc) processors"
  echo "JDK: $("$JAVA" -version 2>&1 | head -1)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$OUT/machine.txt" >&2

for ((r = 1; r <= ROUNDS; r++)); do
  echo "# round $r: siamese4j, $(uptime | sed 's/.*load/load/')" | tee -a "$OUT/load.txt" >&2
  "$JAVA" -jar "$JAR" 'OnnxNetBench.inferBatch1' -p threads=1 -p model="$MODEL_LIST" -f 1 -rf json \
    -rff "$OUT/ours-b1-$r.json" > "$OUT/ours-b1-$r.log" 2>&1
  "$JAVA" -jar "$JAR" 'OnnxNetBench.inferBatch64' -p threads=2 -p model="$MODEL_LIST" -f 1 -rf json \
    -rff "$OUT/ours-b64-$r.json" > "$OUT/ours-b64-$r.log" 2>&1
  echo "# round $r: ONNX Runtime, $(uptime | sed 's/.*load/load/')" | tee -a "$OUT/load.txt" >&2
  for m in "${MODELS[@]}"; do
    JAVA=$JAVA bash bench/onnx-peer/run.sh "$(onnx_file "$m")" > "$OUT/ort-$r-$(basename "$m" .onnx).txt" \
      2> "$OUT/ort-$r-$(basename "$m" .onnx).log"
  done
done
echo "# done, $(uptime | sed 's/.*load/load/')" | tee -a "$OUT/load.txt" >&2

python3 - "$OUT" "$ROUNDS" "${MODELS[@]}" <<'PY'
import json, os, statistics, sys
out, rounds, models = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(open(os.path.join(out, "machine.txt")).read().strip().replace("\n", "  \n"))
print()

def ours(kind, r):
    """{model: median of the JMH iterations}: ms per image at batch 1, images/s at batch 64."""
    rows = {}
    for res in json.load(open(os.path.join(out, "ours-%s-%d.json" % (kind, r)))):
        metric = res["primaryMetric"] if kind == "b1" else res["secondaryMetrics"]["images"]
        rows[res["params"]["model"]] = statistics.median(x for it in metric["rawData"] for x in it)
    return rows

def ort(model, r):
    figures = {}
    for line in open(os.path.join(out, "ort-%d-%s.txt" % (r, os.path.basename(model).removesuffix(".onnx")))):
        name, value = line.split()
        figures[name] = float(value)
    return figures

print("| model | measure | siamese4j, per round | ONNX Runtime, per round | siamese4j (median) "
      "| ONNX Runtime (median) | siamese4j time / ORT time |")
print("|---|---|---|---|---|---|---|")
for model in models:
    for kind, label, name, is_time in (("b1", "batch 1, 1 thread, ms", "ort_infer_b1_1t_ms", True),
                                       ("b64", "batch 64, 2 threads, images/s", "ort_infer_b64_2t_img_s", False)):
        a = [ours(kind, r)[model] for r in range(1, rounds + 1)]
        b = [ort(model, r)[name] for r in range(1, rounds + 1)]
        ma, mb = statistics.median(a), statistics.median(b)
        # above 1: siamese4j takes that many times ONNX Runtime's time per image (issue 18's target: <= 1.5)
        ratio = ma / mb if is_time else mb / ma
        fmt = "%.2f" if is_time else "%.0f"
        print("| %s | %s | %s | %s | %s | %s | %.1f |" % (
            os.path.basename(model), label, ", ".join(fmt % x for x in a), ", ".join(fmt % x for x in b),
            fmt % ma, fmt % mb, ratio))
print()
print("(raw results: %s)" % out)
PY
