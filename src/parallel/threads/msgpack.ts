import { Packr } from 'msgpackr';
import type { ValueCodec } from './codec.js';

/**
 * The value codec of threaded `parallel` operators: msgpackr with its record extension (an object shape written once
 * per batch) and Maps kept as Maps. Loaded only when a `parallel` operator runs in threads, so the library's core
 * depends on RxJS alone.
 *
 * @internal
 */
export function createValueCodec(): ValueCodec {
  const packr = new Packr({ useRecords: true, mapsAsObjects: false, moreTypes: true });
  return { pack: (values) => packr.pack(values), unpack: (bytes) => packr.unpack(bytes) as unknown };
}
