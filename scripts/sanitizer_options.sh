# The sanitizers' runtime options, sourced by sanitize.sh and fuzz.sh (one list for both).
# Suppressions, each about code that is not ours:
# - alloc_dealloc_mismatch=0: LibTorch (not instrumented) frees with operator delete what its
#   inline headers, compiled into our instrumented objects, allocated with new[] (and back).
# - detect_odr_violation=0: libtorch_cpu and the sanitizer runtime both define a few globals.
# - detect_leaks=0: LibTorch's and oneDNN's process-lifetime caches (kernel registries,
#   thread pools) are never freed by design.
export ASAN_OPTIONS="${ASAN_OPTIONS:-alloc_dealloc_mismatch=0:detect_odr_violation=0:detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
