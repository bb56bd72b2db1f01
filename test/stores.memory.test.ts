import { describe, expect, it } from 'vitest';
import { memoryStore } from '../src/index.js';
import { storeConformance } from './support/storeConformance.js';

storeConformance('memoryStore', () => memoryStore());

describe('memoryStore', () => {
  it('describes itself and refuses use after close', async () => {
    const store = memoryStore();
    expect(store.description).toBe('memory');
    await store.close();
    await expect(store.kv.get('a')).rejects.toThrow('memoryStore: the store is closed');
  });
});
