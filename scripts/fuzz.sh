#!/usr/bin/env bash
# Builds the libFuzzer harness of the .pt reader (native/fuzz/pt_reader_fuzz.cc) with clang,
# AddressSanitizer and UndefinedBehaviorSanitizer against libtorch, and runs it for a bounded
# time on the corpus in test/fuzz-corpus/pt (new inputs go to build/fuzz/corpus, crashes to
# build/fuzz/). Needs clang with libFuzzer (Debian: apt-get install clang).
#
#   scripts/fuzz.sh [SECONDS=60] [extra libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
shift || true
CXX="${CXX_FUZZ:-clang++}"
command -v "$CXX" >/dev/null || { echo "fuzz.sh: $CXX not found (apt-get install clang)" >&2; exit 2; }
# The libtorch the addon was built against, else the usual discovery (LIBTORCH, python3's torch, .venv).
TORCH="$(node -e "
const fs = require('fs');
const info = 'build/Release/build-info.json';
if (!process.env.LIBTORCH && fs.existsSync(info)) console.log(JSON.parse(fs.readFileSync(info, 'utf8')).libtorchDir);
else console.log(require('./scripts/find-libtorch').findLibtorch({ log: () => {} }).dir);")"
OUT=build/fuzz
mkdir -p "$OUT/corpus"
BIN="$OUT/pt_reader_fuzz"
SRCS=(native/fuzz/pt_reader_fuzz.cc native/pickle_reader.cc native/pickle_writer.cc native/pt_file.cc native/file_io.cc)
if [ ! -x "$BIN" ] || [ -n "$(find "${SRCS[@]}" native/*.h -newer "$BIN" 2>/dev/null)" ]; then
  echo "fuzz.sh: building $BIN against $TORCH"
  "$CXX" -std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize=vptr -D_GLIBCXX_USE_CXX11_ABI=1 \
    -Inative -isystem "$TORCH/include" -isystem "$TORCH/include/torch/csrc/api/include" \
    "${SRCS[@]}" -o "$BIN" \
    -L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -ltorch_cpu -lc10
fi
# libtorch itself is not instrumented (ODR checks off); leaks are reported.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:detect_odr_violation=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$BIN" "$OUT/corpus" test/fuzz-corpus/pt -max_total_time="$SECS" -max_len=65536 -rss_limit_mb=2048 \
  -malloc_limit_mb=1024 -timeout=10 -artifact_prefix="$OUT/" -print_final_stats=1 "$@"
