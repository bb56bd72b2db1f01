import type { NatsConnection, Subscription as NatsSubscription } from '@nats-io/nats-core';
import { BehaviorSubject, type Observable, type SchedulerLike, type Subscription } from 'rxjs';

/**
 * What one member of a cluster job knows of another (or of itself), from their heartbeats.
 *
 * @example
 * ```ts
 * job.members$.subscribe((ms) => console.log(ms.filter((m) => m.state === 'down').map((m) => m.member)));
 * ```
 */
export interface ClusterMemberStatus {
  readonly member: number;
  /**
   * `up` (heard within the timeout), `down` (not heard for longer: dead, hung or cut off — its tasks do not run, and
   * the stages after them wait), `finished` / `stopped` (its tasks ended, it said so), `unknown` (not heard yet, within
   * the timeout of this member's start).
   */
  readonly state: 'up' | 'down' | 'finished' | 'stopped' | 'unknown';
  /** The tasks it runs. */
  readonly tasks: readonly string[];
  /** When it was last heard from (this member's clock), if ever. */
  readonly lastHeardAt: number | undefined;
}

/** A heartbeat's payload. */
interface Beat {
  readonly member: number;
  readonly members: number;
  readonly tasks: readonly string[];
  readonly state: 'up' | 'finished' | 'stopped';
}

/**
 * The members' heartbeats of a cluster job (docs/NATS.md, "Multi-process jobs"): each member publishes one every
 * `intervalMs` on `<prefix>-members.<member>` (core NATS, outside the exchange stream's `<prefix>.>`: not stored) and listens to the others'; a member not heard
 * for `timeoutMs` is `down`, said once through `warn` (and `back` when heard again), so that a dead member stops the
 * job's progress visibly. A member that runs with another `members` is said too: tasks would run twice or not at all.
 *
 * @internal
 */
export class MemberWatch {
  private readonly status: ClusterMemberStatus[];
  private readonly subject$: BehaviorSubject<readonly ClusterMemberStatus[]>;
  private sub: NatsSubscription | undefined;
  private timer: Subscription | undefined;
  private readonly startedAt: number;
  private readonly warnedMismatch = new Set<number>();
  private state: Beat['state'] = 'up';

  constructor(
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly member: number,
    private readonly members: number,
    private readonly tasksOf: (member: number) => readonly string[],
    private readonly scheduler: SchedulerLike,
    private readonly intervalMs: number,
    private readonly timeoutMs: number,
    private readonly warn: (message: string) => void,
    private readonly owner: string,
  ) {
    this.startedAt = scheduler.now();
    this.status = Array.from({ length: members }, (_, m) => ({ member: m, state: m === member ? 'up' : 'unknown', tasks: tasksOf(m), lastHeardAt: m === member ? this.startedAt : undefined }));
    this.subject$ = new BehaviorSubject<readonly ClusterMemberStatus[]>([...this.status]);
  }

  get members$(): Observable<readonly ClusterMemberStatus[]> {
    return this.subject$.asObservable();
  }

  start(): void {
    this.sub = this.connection.subscribe(`${this.prefix}-members.*`, {
      callback: (err, msg) => {
        if (err !== null) return;
        try {
          this.heard(JSON.parse(new TextDecoder().decode(msg.data)) as Beat);
        } catch {
          // (not a heartbeat: ignored)
        }
      },
    });
    this.beat();
    const tick = (): void => {
      this.beat();
      this.check();
    };
    const every = this.intervalMs;
    this.timer = this.scheduler.schedule(function () {
      tick();
      this.schedule(undefined, every);
    }, every);
  }

  private beat(): void {
    const beat: Beat = { member: this.member, members: this.members, tasks: this.tasksOf(this.member), state: this.state };
    try {
      this.connection.publish(`${this.prefix}-members.${this.member}`, JSON.stringify(beat));
    } catch {
      // (a closed connection: the member is ending anyway)
    }
  }

  private heard(beat: Beat): void {
    const m = beat.member;
    if (!Number.isInteger(m) || m === this.member) return;
    if (beat.members !== this.members) {
      if (!this.warnedMismatch.has(m)) {
        this.warnedMismatch.add(m);
        this.warn(`${this.owner}: member ${m} runs the job with members: ${beat.members}, this member (${this.member}) with members: ${this.members} — some tasks would run twice and others not at all. Start every member with the same members.`);
      }
      return;
    }
    const before = this.status[m];
    if (before === undefined) return;
    if (before.state === 'down') this.warn(`${this.owner}: member ${m} is back (tasks ${before.tasks.join(', ')}).`);
    this.set(m, { ...before, state: beat.state, lastHeardAt: this.scheduler.now() });
  }

  private check(): void {
    const now = this.scheduler.now();
    for (const s of this.status) {
      if (s.member === this.member || (s.state !== 'up' && s.state !== 'unknown')) continue;
      const since = s.lastHeardAt ?? this.startedAt;
      if (now - since <= this.timeoutMs) continue;
      this.warn(
        `${this.owner}: member ${s.member} of ${this.members} has not been heard from for more than ${this.timeoutMs < 1000 ? `${this.timeoutMs} ms` : `${this.timeoutMs / 1000} s`} (the heartbeat timeout): its tasks (${s.tasks.join(', ')}) are not running, and the stages after them wait (their event time holds). ` +
          'Start it again (its tasks resume from their checkpoints), or stop the job with a savepoint and restart it with fewer members.',
      );
      this.set(s.member, { ...s, state: 'down' });
    }
  }

  private set(m: number, s: ClusterMemberStatus): void {
    this.status[m] = s;
    this.subject$.next([...this.status]);
  }

  /** This member's tasks ended: says so (`finished` or `stopped`) and stops beating and listening. */
  async stop(state: 'finished' | 'stopped'): Promise<void> {
    this.state = state;
    this.set(this.member, { ...(this.status[this.member] as ClusterMemberStatus), state });
    this.beat();
    this.timer?.unsubscribe();
    this.sub?.unsubscribe();
    this.subject$.complete();
  }
}
