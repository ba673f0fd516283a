// nudge-ingest is a Linux tool (README, "Try it"): the system module calls Linux's
// sync_file_range and reads the affinity mask from /proc/self/status. Say so at build
// time rather than fail in obscure ways.
#if !os(Linux)
#error("nudge-ingest builds on Linux only (it uses sync_file_range, /proc and glibc); see README, \"Try it\".")
#endif
