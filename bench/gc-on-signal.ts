/**
 * Preloaded (`node --expose-gc --import …`) into the gateway whose idle memory bench:events
 * measures: SIGUSR2 runs a full garbage collection, so an RSS reading taken after it shows what
 * the open streams keep rather than garbage V8 has not collected yet.
 */
const collect = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  collect?.();
  collect?.();
});
