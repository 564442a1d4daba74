#!/usr/bin/env bash
# Builds and runs the application of docs/use-in-your-project.md, taken from the page itself, against the
# library installed fresh from this checkout: the page's coordinates, code and commands must work as written.
# Usage: scripts/check-project-app.sh   (a few minutes; not part of the default test run)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
doc="$repo/docs/use-in-your-project.md"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The fenced block that follows the line holding $1 (a file name in backticks).
block_after() {
  awk -v marker="$1" '
    index($0, marker) == 1 { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { print }' "$doc"
}

cd "$repo"
echo "== installing the library from $repo"
./mvnw -B -ntp -q -DskipTests install
./mvnw -B -ntp -q -DskipTests package -pl examples

echo "== the application from $doc"
mkdir -p "$work/app/src/main/java/com/example/door"
block_after '`pom.xml`:' > "$work/app/pom.xml"
block_after '`src/main/java/com/example/door/Door.java`:' > "$work/app/src/main/java/com/example/door/Door.java"
test -s "$work/app/pom.xml" && test -s "$work/app/src/main/java/com/example/door/Door.java"

echo "== a small model and three faces"
./siamese4j train --data synthetic:40x4 --steps 30 --patience 0 --out "$work/model.safetensors" > "$work/train.log"
att="$repo/../shared/data/att_faces"
if [ -d "$att" ]; then
  cp "$att/s1/1.pgm" "$work/a1.pgm"; cp "$att/s1/2.pgm" "$work/a2.pgm"; cp "$att/s2/1.pgm" "$work/b1.pgm"
else
  for f in a1 a2 b1; do   # plain PGM gradients, enough to exercise the code path
    awk -v s="${#f}$f" 'BEGIN { srand(length(s)); print "P2\n46 56\n255"; for (i = 0; i < 56 * 46; i++) print int(rand() * 255) }' > "$work/$f.pgm"
  done
fi

echo "== building and running it as the page says"
cd "$work/app"
mvn() { "$repo/mvnw" -B -ntp "$@"; }
# The page's build-and-run commands, with its file names replaced by this check's.
run=$(block_after 'Build and run it' | sed -e "s#model.safetensors#$work/model.safetensors#" \
    -e "s#alice-1.pgm#$work/a1.pgm#" -e "s#alice-2.pgm#$work/a2.pgm#")
out=$(eval "$run")
echo "$out"
echo "$out" | grep -Eq '^distance [0-9.]+, threshold [0-9.]+: (same person|different people)$'
echo "OK: docs/use-in-your-project.md builds and runs as written"
