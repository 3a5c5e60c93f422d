#!/usr/bin/env bash
# Run a command as if on an AVX2-only CPU (no AVX-512, AVX-VNNI or AMX), for every library in it:
#   bench/avx2_only.sh python scripts/eval.py data.root=../shared/data/fer2013
# Builds bench/avx2_only.c once (needs gcc and a CPU/kernel with CPUID faulting); see that file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="${AVX2_ONLY_LIB:-${XDG_CACHE_HOME:-$HOME/.cache}/fer/avx2_only.so}"
if [[ ! -f "$lib" || "$here/avx2_only.c" -nt "$lib" ]]; then
  command -v gcc >/dev/null || { echo "avx2_only: gcc is needed to build $here/avx2_only.c" >&2; exit 2; }
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -shared -fPIC -o "$lib" "$here/avx2_only.c"
fi
grep -q cpuid_fault /proc/cpuinfo || { echo "avx2_only: this CPU or VM cannot fault on CPUID (no cpuid_fault in /proc/cpuinfo)" >&2; exit 2; }
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
