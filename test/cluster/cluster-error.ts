/** Test helper: the ClusterError a promise rejects with (the test fails if it resolves or rejects otherwise). */
import { expect } from 'vitest';
import { ClusterError } from '../../src/model/errors.js';

export async function rejection(promise: Promise<unknown>): Promise<ClusterError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ClusterError);
    return error as ClusterError;
  }
  throw new Error('expected a rejection');
}
