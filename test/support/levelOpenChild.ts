// Run by test/stores.errors.node.test.ts in a child process (as another user): opens levelStore(argv[2]), reads, and
// prints what the read rejected with as one JSON line.
import { StoreError, TidewaterError } from '../../src/index.js';
import { levelStore } from '../../src/stores/level.js';

const store = levelStore(process.argv[2] as string);
try {
  await store.loadCheckpoint('j', 'latest');
  process.stdout.write('{"read":"ok"}\n');
} catch (e) {
  const err = e as Error;
  const cause = err.cause as (Error & { code?: string }) | undefined;
  process.stdout.write(
    `${JSON.stringify({ storeError: e instanceof StoreError, tidewaterError: e instanceof TidewaterError, message: err.message, cause: cause?.message, code: cause?.code })}\n`,
  );
}
