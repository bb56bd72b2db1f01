import { KEYED_STAGES } from './queries.js';

/**
 * The module worker threads load for `parallel(n, stage, { worker })` in the Nexmark benchmark: it exports the keyed
 * stage of the query named by its URL's `?q=` (bench/nexmark/README.md, "Throughput").
 */
const name = new URL(import.meta.url).searchParams.get('q') ?? '';
const stage = KEYED_STAGES[name];
if (stage === undefined) throw new Error(`nexmark stageWorker: no keyed stage '${name}' (have ${Object.keys(KEYED_STAGES).join(', ')})`);

export default stage.stage;
