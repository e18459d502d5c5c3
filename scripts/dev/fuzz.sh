#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses in native/fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer against libtorch (libtorch itself is not instrumented).
#
#   scripts/dev/fuzz.sh TARGET [SECONDS=60] [extra libFuzzer flags...]   run one harness
#   scripts/dev/fuzz.sh --merge TARGET                                   grow the repo corpus
#   scripts/dev/fuzz.sh --build TARGET                                   build only
#
# TARGET is one of: pt (native/fuzz/pt_reader_fuzz.cc), tensor_file (tensor_file_fuzz.cc),
# masks (masks_fuzz.cc). A run reads the repo corpus test/fuzz-corpus/TARGET (never writes it)
# and writes what it finds to build/fuzz/TARGET/corpus, crashes to build/fuzz/TARGET/.
# --merge adds to test/fuzz-corpus/TARGET the inputs of build/fuzz/TARGET/corpus that reach new
# coverage (libFuzzer -merge=1): commit them. Needs clang++ and libFuzzer (Debian: apt-get install
# clang libclang-rt-14-dev, which scripts/install/setup.js does as root). Without them it prints
# "skipped" and exits 0, or fails when CI=true.
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=run
case "${1:-}" in
  --merge) MODE=merge; shift ;;
  --build) MODE=build; shift ;;
esac
TARGET="${1:-}"
shift || true
case "$TARGET" in
  pt) MAIN=native/fuzz/pt_reader_fuzz.cc ;;
  tensor_file) MAIN=native/fuzz/tensor_file_fuzz.cc ;;
  masks) MAIN=native/fuzz/masks_fuzz.cc ;;
  *) echo "usage: scripts/dev/fuzz.sh [--merge|--build] pt|tensor_file|masks [SECONDS] [libFuzzer flags]" >&2; exit 2 ;;
esac
SECS=60
if [ "$MODE" = run ] && [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then SECS="$1"; shift; fi

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "fuzz.sh: $1 (CI=true: failing; scripts/install/setup.js installs it when run as root with apt-get)" >&2
    exit 1
  fi
  echo "fuzz.sh: skipped $TARGET: $1" >&2
  exit 0
}

CXX="${CXX_FUZZ:-}"
if [ -z "$CXX" ]; then
  for c in clang++ clang++-14 clang++-15 clang++-16 clang++-17 clang++-18 clang++-19; do
    if command -v "$c" >/dev/null; then CXX="$c"; break; fi
  done
fi
{ [ -n "$CXX" ] && command -v "$CXX" >/dev/null; } ||
  skip "clang++ not found: install clang (Debian: apt-get install clang libclang-rt-14-dev)"
# libFuzzer lives in the compiler-rt package (Debian: libclang-rt-NN-dev).
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
  "$CXX" -x c++ -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
  skip "$CXX cannot link -fsanitize=fuzzer,address: install libFuzzer (Debian: apt-get install libclang-rt-14-dev)"
fi

# The libtorch the addon was built against, else the usual discovery (LIBTORCH, python3's torch, .venv).
TORCH="$(node -e "
const fs = require('fs');
const info = 'build/Release/build-info.json';
if (!process.env.LIBTORCH && fs.existsSync(info)) console.log(JSON.parse(fs.readFileSync(info, 'utf8')).libtorchDir);
else console.log(require('./scripts/install/compiled').core('libtorch').findLibtorch({ log: () => {} }).dir);")"

OUT=build/fuzz
OBJ="$OUT/obj"
mkdir -p "$OBJ" "$OUT/$TARGET/corpus"
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
  -fno-sanitize=vptr -fno-sanitize-recover=undefined -D_GLIBCXX_USE_CXX11_ABI=1
  -Inative -isystem "$TORCH/include" -isystem "$TORCH/include/torch/csrc/api/include")
case "$TARGET" in
  masks) SRCS=(native/masks/masks.cc native/masks/numpy_random.cc native/masks/hjepa.cc native/masks/notebook.cc) ;;
  *) SRCS=(native/pt/pickle_reader.cc native/pt/pickle_writer.cc native/pt/pt_file.cc native/pt/pt_legacy.cc native/pt/pt_save.cc native/core/file_io.cc native/core/dtype.cc) ;;
esac

# One object per source, shared by the harnesses, rebuilt when the source or a header is newer.
OBJS=()
for src in "${SRCS[@]}" "$MAIN"; do
  o="$OBJ/$(basename "$src" .cc).o"
  if [ ! -f "$o" ] || [ -n "$(find "$src" native/*/*.h -newer "$o" 2>/dev/null | head -1)" ]; then
    echo "fuzz.sh: compiling $src"
    "$CXX" "${FLAGS[@]}" -c "$src" -o "$o"
  fi
  OBJS+=("$o")
done
BIN="$OUT/$TARGET/fuzz"
if [ ! -x "$BIN" ] || [ -n "$(find "${OBJS[@]}" -newer "$BIN" | head -1)" ]; then
  echo "fuzz.sh: linking $BIN against $TORCH"
  "$CXX" -fsanitize=fuzzer,address,undefined "${OBJS[@]}" -o "$BIN" \
    -L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -ltorch_cpu -lc10
fi
[ "$MODE" = build ] && exit 0

# libtorch is not instrumented: ODR checks off (its globals are seen twice); leaks are reported.
# See RELIABILITY.md (Sanitizers and fuzzing) for every option set here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:detect_odr_violation=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Leaks inside libtorch that are not ours (each justified in the file).
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/native/fuzz/lsan.supp:print_suppressions=0}"
REPO_CORPUS="test/fuzz-corpus/$TARGET"
mkdir -p "$REPO_CORPUS"
LIMITS=(-max_len=65536 -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10)
if [ "$MODE" = merge ]; then
  exec "$BIN" -merge=1 "${LIMITS[@]}" "$REPO_CORPUS" "$OUT/$TARGET/corpus"
fi
# The new-input folder comes first: libFuzzer writes there, and only reads the repo corpus.
exec "$BIN" "$OUT/$TARGET/corpus" "$REPO_CORPUS" -max_total_time="$SECS" "${LIMITS[@]}" \
  -artifact_prefix="$OUT/$TARGET/" -print_final_stats=1 "$@"
