/**
 * Loaded into a harness run by a test (`node --import tsx --import
 * ./test/support/inject-fault.ts ...`): on SIGUSR2 the run meets the fault
 * PXE_HIL_TEST_FAULT names, as a bug in it would make one: an unhandled
 * promise rejection ('rejection', the default) or an uncaught exception
 * ('exception').
 */
process.on('SIGUSR2', () => {
  if (process.env.PXE_HIL_TEST_FAULT === 'exception') {
    setImmediate(() => {
      throw new Error('injected uncaught exception');
    });
  } else {
    void Promise.reject(new Error('injected unhandled rejection'));
  }
});
