import type { Bid, NexmarkEvent } from './generator.js';
import { ranked, type Change, type Q19Row } from './queries.js';

/**
 * Hand-written q18 and q19 — the two queries whose state keeps a bid for (almost) every bid it reads — each with a
 * hand-written checkpoint: the baselines of `npm run bench -- nexmark-long` (bench/nexmark/README.md, "Long runs").
 * A loop keeps its state in Maps and remembers which entries changed since its last checkpoint; a checkpoint writes
 * each changed entry as the JSON of `[key, value]` (`JSON.stringify`, which checks nothing), as what a program written
 * by hand for one query would write. It emits the same changelog rows as the query (the benchmark checks the counts).
 */
export interface StateLoop {
  /** One event: the state updated, its result rows emitted. */
  next(e: NexmarkEvent): void;
  /** Each entry changed since the last call as the JSON of `[key, value]`, into `row`; forgets them. */
  changedRows(row: (json: string) => void): void;
}

/** Entries changed since the last checkpoint, each once. */
class ChangedEntries<E extends { changed: boolean }> {
  private entries: E[] = [];

  mark(entry: E): void {
    if (entry.changed) return;
    entry.changed = true;
    this.entries.push(entry);
  }

  /** Each entry marked since the last call, as `json(entry)` into `row`; forgets them. */
  take(row: (json: string) => void, json: (entry: E) => string): void {
    for (const entry of this.entries) {
      entry.changed = false;
      row(json(entry));
    }
    this.entries = [];
  }
}

interface Q18Entry {
  readonly bidder: number;
  readonly auction: number;
  bid: Bid;
  changed: boolean;
}

/** q18: per bidder and auction the latest bid (equal times: the later arrival), as a changelog. */
export function q18StateLoop(emit: (row: Change<Bid>) => void): StateLoop {
  const byBidder = new Map<number, Map<number, Q18Entry>>();
  const changed = new ChangedEntries<Q18Entry>();
  return {
    next(e) {
      if (e.type !== 'bid') return;
      let auctions = byBidder.get(e.bidder);
      if (auctions === undefined) byBidder.set(e.bidder, (auctions = new Map()));
      const entry = auctions.get(e.auction);
      if (entry === undefined) {
        const created: Q18Entry = { bidder: e.bidder, auction: e.auction, bid: e, changed: false };
        auctions.set(e.auction, created);
        changed.mark(created);
        emit({ kind: '+I', row: e });
        return;
      }
      if (e.dateTime < entry.bid.dateTime) return;
      emit({ kind: '-U', row: entry.bid });
      emit({ kind: '+U', row: e });
      entry.bid = e;
      changed.mark(entry);
    },
    changedRows(row) {
      changed.take(row, (entry) => JSON.stringify([[entry.bidder, entry.auction], entry.bid]));
    },
  };
}

interface Q19Entry {
  readonly auction: number;
  readonly top: Bid[];
  changed: boolean;
}

/** q19: per auction its ten highest bids with their rank (ties: the earlier arrival ranks higher), as a changelog. */
export function q19StateLoop(emit: (row: Change<Q19Row>) => void): StateLoop {
  const byAuction = new Map<number, Q19Entry>();
  const changed = new ChangedEntries<Q19Entry>();
  return {
    next(e) {
      if (e.type !== 'bid') return;
      let entry = byAuction.get(e.auction);
      if (entry === undefined) byAuction.set(e.auction, (entry = { auction: e.auction, top: [], changed: false }));
      const top = entry.top;
      let rank = top.length;
      while (rank > 0 && (top[rank - 1] as Bid).price < e.price) rank--;
      if (rank >= 10) return;
      for (let i = top.length - 1; i >= rank; i--) {
        const moved = top[i] as Bid;
        emit({ kind: '-U', row: ranked(moved, i + 1) });
        if (i + 1 < 10) emit({ kind: '+U', row: ranked(moved, i + 2) });
      }
      emit({ kind: '+I', row: ranked(e, rank + 1) });
      top.splice(rank, 0, e);
      if (top.length > 10) top.length = 10;
      changed.mark(entry);
    },
    changedRows(row) {
      changed.take(row, (entry) => JSON.stringify([entry.auction, entry.top]));
    },
  };
}

/** The state loops by query. */
export const STATE_LOOPS: Partial<Record<string, (emit: (row: unknown) => void) => StateLoop>> = {
  q18: q18StateLoop,
  q19: q19StateLoop,
};
