#!/usr/bin/env bash
# The test command: builds and runs every test.
#
#   bash tests/run-all.sh [debug|asan ...]      (default: debug asan)
#   bash tests/run-all.sh fuzz                   (fuzzing only)
#
# For each build type: configure and build into build/<type>, run the unit
# tests (ctest), then the integration tests (pytest, TEGU_BUILD=build/<type>).
# Then, when clang is installed, build the fuzz targets into build/fuzz and
# run each for TEGU_FUZZ_SECONDS (default 30; 0 skips fuzzing) on a temporary
# copy of its corpus tests/fuzz/corpus/<name>.
#
# Exits non-zero when any stage fails; the last line is "N passed, N failed"
# counting stages (", N skipped" when a failed build skipped its tests).

set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1

jobs=2
python=/usr/bin/python3
fuzz_seconds=${TEGU_FUZZ_SECONDS:-30}
sanitizer_env=(ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1)

# "fuzz" alone skips the build types and only fuzzes.
types=()
for arg in "$@"; do
	case $arg in
	debug | asan) types+=("$arg") ;;
	fuzz) ;;
	*)
		echo "usage: bash tests/run-all.sh [debug|asan|fuzz ...]" >&2
		exit 2
		;;
	esac
done
if [ $# -eq 0 ]; then
	types=(debug asan)
fi
if ! [[ $fuzz_seconds =~ ^[0-9]+$ ]]; then
	echo "TEGU_FUZZ_SECONDS must be a number of seconds" >&2
	exit 2
fi

passed=0
failed=0
skipped=0
failures=()

# stage NAME COMMAND...: runs one stage and counts it.
stage() {
	local name=$1
	shift
	echo
	echo "==> $name"
	local start=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "<== $name: ok ($((SECONDS - start)) s)"
		return 0
	fi
	failed=$((failed + 1))
	failures+=("$name")
	echo "<== $name: FAILED ($((SECONDS - start)) s)"
	return 1
}

# build DIR CMAKE_BUILD_TYPE [CONFIGURE_ARGS...] [-- BUILD_ARGS...]
build() {
	local dir=$1 cmake_type=$2
	shift 2
	local configure=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		configure+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$cmake_type" "${configure[@]}" &&
		cmake --build "$dir" -j"$jobs" "$@"
}

# integration BUILD_DIR [VAR=VALUE...]: the pytest suite against one build,
# keeping the tree clean (no .pytest_cache, no __pycache__).
integration() {
	local dir=$1
	shift
	env "$@" PYTHONDONTWRITEBYTECODE=1 TEGU_BUILD="$repo/$dir" \
		"$python" -m pytest -q -p no:cacheprovider tests/integration
}

for type in "${types[@]}"; do
	dir=build/$type
	env=()
	cmake_type=Debug
	if [ "$type" = asan ]; then
		cmake_type=Asan
		env=("${sanitizer_env[@]}")
	fi
	if ! stage "$type: build" build "$dir" "$cmake_type"; then
		skipped=$((skipped + 2))
		continue
	fi
	stage "$type: unit tests" env "${env[@]}" ctest --test-dir "$dir" --output-on-failure
	stage "$type: integration tests" integration "$dir" "${env[@]}"
done

# fuzz_one NAME: runs build/fuzz/NAME on a temporary copy of its corpus.
fuzz_one() {
	local name=$1 work status
	work=$(mktemp -d "${TMPDIR:-/tmp}/tegu-fuzz.XXXXXX") || return 1
	mkdir -p "$work/corpus" build/fuzz/artifacts
	if [ -d "tests/fuzz/corpus/$name" ]; then
		cp -R "tests/fuzz/corpus/$name/." "$work/corpus/"
	fi
	local args=(-max_total_time="$fuzz_seconds" -artifact_prefix="$repo/build/fuzz/artifacts/$name-")
	if [ -f "tests/fuzz/$name.dict" ]; then
		args+=(-dict="tests/fuzz/$name.dict")
	fi
	env "${sanitizer_env[@]}" "build/fuzz/$name" "${args[@]}" "$work/corpus" \
		>"build/fuzz/$name.log" 2>&1
	status=$?
	if [ $status -eq 0 ]; then
		tail -n 2 "build/fuzz/$name.log"
	else
		tail -n 60 "build/fuzz/$name.log"
		echo "(full log: build/fuzz/$name.log; crashing inputs in build/fuzz/artifacts/)"
	fi
	rm -rf "$work"
	return $status
}

build_fuzz() {
	local -x CC=clang
	build build/fuzz Debug -DTEGU_FUZZ=ON -- --target "${fuzz_targets[@]}"
}

fuzz_targets=()
for src in tests/fuzz/fuzz-*.c; do
	[ -e "$src" ] && fuzz_targets+=("$(basename "$src" .c)")
done
echo
if [ "$fuzz_seconds" -eq 0 ]; then
	echo "fuzz: skipped (TEGU_FUZZ_SECONDS=0)"
elif ! command -v clang >/dev/null; then
	echo "fuzz: skipped (clang is not installed)"
elif [ ${#fuzz_targets[@]} -eq 0 ]; then
	echo "fuzz: no targets in tests/fuzz/"
elif stage "fuzz: build" build_fuzz; then
	for name in "${fuzz_targets[@]}"; do
		stage "fuzz: $name (${fuzz_seconds} s)" fuzz_one "$name"
	done
else
	skipped=$((skipped + ${#fuzz_targets[@]}))
fi

echo
if [ ${#failures[@]} -gt 0 ]; then
	echo "failed stages:"
	printf '  %s\n' "${failures[@]}"
fi
summary="$passed passed, $failed failed"
if [ $skipped -gt 0 ]; then
	summary+=", $skipped skipped"
fi
echo "$summary"
[ $failed -eq 0 ]
