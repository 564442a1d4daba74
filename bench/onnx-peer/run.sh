#!/usr/bin/env bash
# ONNX Runtime Java 1.23.2 on one .onnx file: the same-run baseline of OnnxNetBench (issue 18).
# Usage, from anywhere:  bash bench/onnx-peer/run.sh FILE.onnx > figures.txt
#   stdout: ort_infer_b1_1t_ms VALUE (10 warm-up + median of 51 calls, 1 thread)
#           ort_infer_b64_2t_img_s VALUE (2 warm-up + median of 9 calls, 2 threads)
#   stderr: one "# ..." line per figure (min, max, CPU of the calling thread), ONNX Runtime's version
# Builds with Maven (fetching onnxruntime from Maven Central the first time) when pom.xml or src/ changed.
# This module is not part of siamese4j's build: nothing else depends on ONNX Runtime. Env: JAVA (default java).
set -euo pipefail
[[ $# == 1 ]] || { echo "usage: bash bench/onnx-peer/run.sh FILE.onnx" >&2; exit 2; }
FILE=$(realpath "$1")
[[ -f $FILE ]] || { echo "run.sh: no such file: $1" >&2; exit 2; }
cd "$(dirname "$0")"
JAVA=${JAVA:-java}
if [[ ! -f target/classpath.txt ]] || [[ -n $(find pom.xml src -newer target/classpath.txt -print -quit) ]]; then
  echo "# building with mvn" >&2
  mvn -q -B compile >&2
  mvn -q -B dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
  touch target/classpath.txt
fi
J=("$JAVA" -cp "target/classes:$(cat target/classpath.txt)" org.siamese4j.onnxpeer.OrtPeer "$FILE")
"${J[@]}" 1 1
"${J[@]}" 64 2
