//! Giving memory freed by compiling a rule set back to the operating system.

/// Asks the allocator to return the free pages inside its heap to the operating system.
///
/// Compiling a rule set allocates far more than the engine keeps (the TOML document, the parsed
/// rules, build-time maps), in many small pieces interleaved with the engine's own, so glibc's
/// allocator cannot shrink its heap from the top and keeps the freed memory resident: with
/// 100,000 rules, about 90 MiB of the 137 MiB a process held after loading them (BENCHMARKS.md,
/// "Memory"). `malloc_trim(0)` (glibc) releases every free page with `madvise`. The server calls
/// this once it has started (before the first call) and after every reload. A no-op on other platforms and C libraries. Cost:
/// one pass over the heap's free lists (milliseconds for a large rule set).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks and trims glibc's own arenas; it takes no pointers from us.
    unsafe {
        libc::malloc_trim(0);
    }
}
