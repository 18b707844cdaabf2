import { describe, expect, it } from 'vitest';
import { workerAllocatorEnv } from '../../src/cli/cluster.js';

describe('the allocator settings workers are forked with', () => {
  it('fix the mmap threshold at 4 MiB, below the 16 MiB a scrypt check allocates', () => {
    const env = workerAllocatorEnv({});
    expect(Number(env['MALLOC_MMAP_THRESHOLD_'])).toBe(4 * 2 ** 20);
    expect(Number(env['MALLOC_MMAP_THRESHOLD_'])).toBeLessThan(16 * 2 ** 20);
  });

  it('leave a threshold the operator set alone', () => {
    expect(workerAllocatorEnv({ MALLOC_MMAP_THRESHOLD_: '131072' })).toEqual({});
  });
});
