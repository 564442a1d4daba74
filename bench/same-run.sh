#!/usr/bin/env bash
# One session's speed figures, each beside the baseline measured in the same run, as markdown tables:
#   SGEMM (GemmBench.vector) against numpy's OpenBLAS (bench/openblas-baseline.py), 1 and 2 threads;
#   the reference tower (TowerBench) against DJL / PyTorch 2.7.1 and ONNX Runtime Java (--peers, which runs
#   ../shared/bench/jvm-peers/run.sh; without it the tower rows have no baseline).
# Usage, from the repository root, on an otherwise idle machine:
#   ./mvnw -B -ntp -q -DskipTests package && bash bench/same-run.sh [--peers] [--quick] [--out DIR]
#   --quick: 1 warm-up and 2 measured iterations per JMH benchmark (a smoke run; figures are rough)
#   JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java bash bench/same-run.sh   runs the JMH forks on JDK 25
# Raw results (JMH JSON, baseline output) go to DIR (default: a new folder under /tmp); tables to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=0
QUICK=0
OUT=
while [[ $# -gt 0 ]]; do
  case $1 in
    --peers) PEERS=1 ;;
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    *) echo "same-run.sh: unknown option '$1'; valid: --peers, --quick, --out DIR" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-$(mktemp -d /tmp/siamese4j-same-run.XXXXXX)}
mkdir -p "$OUT"
JAVA=${JAVA:-java}
JAR=bench/target/benchmarks.jar
[[ -f $JAR ]] || { echo "same-run.sh: $JAR is missing; build it with ./mvnw -B -ntp -q -DskipTests package" >&2; exit 2; }
JMH=(-f 1 -rf json)
[[ $QUICK == 1 ]] && JMH+=(-wi 1 -i 2 -w 2 -r 2)

cpu=$(lscpu | sed -n 's/^Model name: *//p')
family=$(sed -n 's/^cpu family\t*: //p' /proc/cpuinfo | head -1)
model=$(sed -n 's/^model\t*: //p' /proc/cpuinfo | head -1)
width=$(grep -qw avx512f /proc/cpuinfo && echo AVX-512 || (grep -qw avx2 /proc/cpuinfo && echo AVX2 || echo "no AVX2"))
jdk=$("$JAVA" -version 2>&1 | head -1)
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "CPU: $cpu (family $family, model $model, $width), $(nproc) processors"
  echo "JDK: $jdk"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
} | tee "$OUT/machine.txt" >&2

echo "# OpenBLAS baseline" >&2
python3 bench/openblas-baseline.py --sizes 256,512,1024,2048 --threads 1,2 | tee "$OUT/openblas.txt" >&2
echo "# GemmBench.vector" >&2
"$JAVA" -jar "$JAR" 'GemmBench.vector' -p n=256,512,1024,2048 -p threads=1,2 "${JMH[@]}" -rff "$OUT/gemm.json" \
  > "$OUT/gemm.log" 2>&1
echo "# TowerBench" >&2
"$JAVA" -jar "$JAR" 'TowerBench' -p threads=1,2 "${JMH[@]}" -rff "$OUT/tower.json" > "$OUT/tower.log" 2>&1
if [[ $PEERS == 1 ]]; then
  echo "# JVM peers (DJL, ONNX Runtime)" >&2
  bash ../shared/bench/jvm-peers/run.sh > "$OUT/peers.txt" 2> "$OUT/peers.log"
fi

python3 - "$OUT" <<'EOF'
import json, os, re, statistics, sys
out = sys.argv[1]
print(open(os.path.join(out, "machine.txt")).read().strip().replace("\n", "  \n"))
print()

def jmh(name):
    """{(benchmark, params...): (median of the iterations, unit)} of one JMH JSON file."""
    rows = {}
    for r in json.load(open(os.path.join(out, name))):
        bench = r["benchmark"].rsplit(".", 1)[1]
        params = r.get("params", {})
        primary = r["primaryMetric"]
        rows[(bench, int(params.get("threads", 0)), int(params.get("n", 0)))] = (
            primary["rawData"], primary["scoreUnit"], r.get("secondaryMetrics", {}))
    return rows

def median(xs):
    return statistics.median(x for it in xs for x in ([it] if isinstance(it, (int, float)) else it))

blas = {}
threads = None
for line in open(os.path.join(out, "openblas.txt")):
    m = re.match(r"threads (\d+):", line)
    if m:
        threads = int(m.group(1))
    m = re.match(r"\s+n=(\d+)\s+([\d.]+) GFLOPS median", line)
    if m:
        blas[(threads, int(m.group(1)))] = float(m.group(2))

print("| SGEMM | siamese4j GFLOPS (median) | OpenBLAS GFLOPS (median) | ratio |")
print("|---|---|---|---|")
for (bench, t, n), (raw, unit, secondary) in sorted(jmh("gemm.json").items(), key=lambda kv: (kv[0][1], kv[0][2])):
    ours = median(secondary["gflops"]["rawData"])
    base = blas.get((t, n))
    ratio = "%.2f" % (ours / base) if base else "-"
    print("| n=%d, %d thread%s | %.1f | %s | %s |" % (n, t, "" if t == 1 else "s", ours,
                                                      "%.1f" % base if base else "-", ratio))
print()

peers = {}
if os.path.exists(os.path.join(out, "peers.txt")):
    for line in open(os.path.join(out, "peers.txt")):
        parts = line.split()
        if len(parts) == 2:
            try:
                peers[parts[0]] = float(parts[1])
            except ValueError:
                pass
tower = jmh("tower.json")
rows = [
    ("training, 2 threads, images/s", ("trainStep", 2), "djl_train_2t_img_s", None, True),
    ("training, 1 thread, images/s", ("trainStep", 1), "djl_train_1t_img_s", None, True),
    ("inference batch 1, 1 thread, ms", ("inferBatch1", 1), "djl_infer_b1_1t_ms", "ort_infer_b1_1t_ms", False),
    ("inference batch 64, 2 threads, images/s", ("inferBatch64", 2), "djl_infer_b64_2t_img_s",
     "ort_infer_b64_2t_img_s", True),
]
print("| reference tower | siamese4j (median) | DJL / PyTorch 2.7.1 | ONNX Runtime Java | ratio to DJL | ratio to ONNX Runtime |")
print("|---|---|---|---|---|---|")
for label, (bench, t), djl, ort, higher_is_better in rows:
    key = (bench, t, 0)
    if key not in tower:
        continue
    raw, unit, secondary = tower[key]
    ours = median(secondary["images"]["rawData"]) if higher_is_better else median(raw)
    def ratio(base):
        if base is None or base not in peers:
            return "-", "-"
        b = peers[base]
        # a ratio above 1 always means siamese4j is better: speed over speed, or time over time inverted
        return "%.1f" % b, "%.2fx" % (ours / b if higher_is_better else b / ours)
    d, dr = ratio(djl)
    o, orr = ratio(ort)
    print("| %s | %.2f | %s | %s | %s | %s |" % (label, ours, d, o, dr, orr))
print()
print("(raw results: %s)" % out)
EOF
