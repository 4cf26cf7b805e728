// Test-only fault points: when NCW_TEST_FAULT_AT names a point, the code there throws an internal error
// (a plain Error, as a bug would), so the black-box tests can check that ncw reports it and exits
// instead of hanging (test/hydre-cli.test.ts). Inert otherwise.

/** Throws an internal error when NCW_TEST_FAULT_AT is `point`. */
export function testFault(point: string): void {
  if (process.env.NCW_TEST_FAULT_AT === point)
    throw new Error(`a fault injected at ${point} (NCW_TEST_FAULT_AT)`);
}
