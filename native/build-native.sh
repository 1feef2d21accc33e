#!/usr/bin/env bash
# Builds native/ (libcrystalline_native) with CMake. Optional: the managed code falls back to
# libc + /sys when the library is absent, so a missing tool is reported, never fatal.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ ! -f "$here/CMakeLists.txt" ]; then echo "native: no CMakeLists.txt, skipped"; exit 0; fi
if ! command -v cmake >/dev/null 2>&1; then echo "native: cmake not found, skipped (managed fallback will be used)"; exit 0; fi
if ! command -v cc >/dev/null 2>&1 && ! command -v gcc >/dev/null 2>&1; then echo "native: no C compiler, skipped"; exit 0; fi
exec 9>"$here/.build.lock"; flock 9 2>/dev/null || true
if [ -f "$here/build/libcrystalline_native.so" ] && [ -z "$(find "$here" -maxdepth 1 \( -name '*.c' -o -name '*.h' -o -name CMakeLists.txt \) -newer "$here/build/libcrystalline_native.so")" ]; then exit 0; fi
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=Release >/dev/null 2>&1 && cmake --build "$here/build" -j2 >/dev/null 2>&1 \
  && echo "native: built $here/build/libcrystalline_native.so" || echo "native: build failed, skipped (managed fallback will be used)"
exit 0
