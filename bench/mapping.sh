#!/usr/bin/env bash
# Benchmarks the SDK's entity mapping against the jq CLI on generated repository items.
#
# Builds bench_mapping into build-bench/ (Release) and generates the items once: 200,000 by
# default, about 2 KB each, as JSON lines. It checks that the SDK and jq produce the same entities
# on the first 2,000 items. Then it times the SDK on 1 and 2 threads and `jq -c` on the same file.
# Environment: OCEAN_BENCH_ITEMS (item count), OCEAN_BENCH_BUILD (build directory).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${OCEAN_BENCH_BUILD:-$root/build-bench}
count=${OCEAN_BENCH_ITEMS:-200000}
config=$root/bench/mapping.yml
program=$(cat "$root/bench/mapping.jq")
# The same mapping with one property that only jq evaluates, so every item is converted to jv.
jq_config=$root/bench/mapping-jq-field.yml
jq_program=$(cat "$root/bench/mapping-jq-field.jq")

for tool in cmake ninja python3 jq; do
    command -v "$tool" > /dev/null || { echo "mapping.sh: $tool is required but not installed" >&2; exit 2; }
done

echo "== building bench_mapping in $build"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOCEAN_BUILD_BENCH=ON \
    -DOCEAN_BUILD_TESTS=OFF -DOCEAN_BUILD_SAMPLES=OFF -DOCEAN_BUILD_TOOLS=OFF > /dev/null
ninja -C "$build" bench_mapping > /dev/null
bench=$build/bench/bench_mapping

items=$build/mapping-items-$count.jsonl
if [[ ! -s $items ]]; then
    echo "== generating $count items into $items"
    python3 "$root/bench/generate_items.py" "$count" "$items.tmp"
    mv "$items.tmp" "$items"
fi
echo "== input: $count items, $(( $(stat -c %s "$items") / 1024 / 1024 )) MiB"

echo "== checking that the SDK and jq produce the same entities"
head -n 2000 "$items" > "$build/mapping-sample.jsonl"
for pair in "$config:$program" "$jq_config:$jq_program"; do
    "$bench" "${pair%%:*}" repository "$build/mapping-sample.jsonl" --output "$build/mapping-sample.ocean" > /dev/null
    jq -c "${pair#*:}" "$build/mapping-sample.jsonl" > "$build/mapping-sample.jq"
    if ! cmp -s "$build/mapping-sample.ocean" "$build/mapping-sample.jq"; then
        echo "mapping.sh: the SDK and jq disagree on the first 2000 items with ${pair%%:*};" \
            "compare $build/mapping-sample.*" >&2
        exit 1
    fi
done
echo "identical on 2000 items ($(wc -l < "$build/mapping-sample.jq") entities), for both mappings"

# Read the file once so both sides find it in the page cache.
cat "$items" > /dev/null

# Prints the items-per-second figure of a bench_mapping summary line.
rate_of() { sed -n 's/.* items\/s \([0-9]*\).*/\1/p' <<< "$1"; }

echo "== SDK, typical mapping (every program evaluated natively)"
one=$("$bench" "$config" repository "$items" --threads 1)
echo "$one"
two=$("$bench" "$config" repository "$items" --threads 2)
echo "$two"

# Times `jq -c PROGRAM` over the items and prints its items per second.
time_jq() {
    local start end seconds
    start=$(date +%s.%N)
    jq -c "$1" "$items" > /dev/null
    end=$(date +%s.%N)
    seconds=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    awk -v n="$count" -v t="$seconds" 'BEGIN { printf "%.0f", n / t }'
}

echo "== jq $(jq --version)"
jq_rate=$(time_jq "$program")
echo "jq items/s $jq_rate"

echo "== variant with one jq-only property (.topics | length), 1 thread"
variant=$("$bench" "$jq_config" repository "$items" --threads 1)
echo "$variant"
variant_jq_rate=$(time_jq "$jq_program")
echo "jq items/s $variant_jq_rate"
awk -v a="$(rate_of "$variant")" -v j="$variant_jq_rate" \
    'BEGIN { printf "variant ratio ocean/jq: 1 thread %.2f\n", a / j }'

one_rate=$(rate_of "$one")
two_rate=$(rate_of "$two")
awk -v a="$one_rate" -v b="$two_rate" -v j="$jq_rate" \
    'BEGIN { printf "ratio ocean/jq: 1 thread %.2f, 2 threads %.2f\n", a / j, b / j }'
