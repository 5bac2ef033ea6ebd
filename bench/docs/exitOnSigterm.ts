/**
 * Preloaded (`--import`) into servers that have no SIGTERM handler of their own when the
 * bench profiles them: `--cpu-prof` writes its file only on a normal exit.
 */
process.once('SIGTERM', () => process.exit(0));
