/**
 * Preloaded (`node --expose-gc --import …`) into the gateway whose idle memory bench:events
 * measures: SIGWINCH runs a full garbage collection, so an RSS reading taken after it shows what
 * the open streams keep rather than garbage V8 has not collected yet. SIGWINCH, because its default
 * is to do nothing and the server's shutdown handler (close-with-grace) takes SIGUSR2.
 */
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGWINCH', () => {
  collect?.();
  collect?.();
});
