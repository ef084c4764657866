/**
 * D4 · Spike in the number of distinct sources making RDP connections to one destination —
 * Elastic's ML rule 18a5dd9a-… (`high_distinct_count(source.ip)` partitioned by `destination.ip`,
 * 6-hour buckets, record score ≥ 70; reference/rules.md §A.4, §B), run in the stream:
 *
 * 1. RDP evidence (rdp/evidence.ts): tcp/3389 network events, 4624 logons of type 10, Elastic
 *    Defend RemoteInteractive process events; each gives (source, destination).
 * 2. Per destination and bucket, the distinct sources (exact, then HyperLogLog past
 *    `sketchThreshold`).
 * 3. Per destination, a (compound) negative binomial model of that count with daily and weekly
 *    seasonality, shrunk to a population prior while its history is short (rdp/destinationModel.ts,
 *    rdp/population.ts).
 * 4. Probability → raw anomalousness → 0–100 score, normalised per destination through Elastic's
 *    knot points (rdp/anomalyScore.ts, rdp/normaliser.ts).
 * 5. Early firing: every time the running count of the open bucket grows, it is tested against
 *    what the model expects by then (rdp/openBucket.ts); the first time the score reaches the
 *    threshold, one alert fires for that destination and bucket. Its @timestamp is the event that
 *    pushed it over, the last of `picket.events` (after the bucket's first event). With
 *    `fireOn: 'close'` the same model scores only the final count when the bucket closes, as
 *    Elastic does (for comparison).
 *
 * Where picket departs from Elastic's job (rules.md §B.5–B.6): no multi-bucket impact (the recent-
 * window test plays its part, within the bucket), no renormalisation of past scores (an alert is
 * final, like Elastic's initial record score), no maximum-score ceiling (a second spike on the same
 * destination is judged like the first), and a calibrated prior in the normaliser instead of weeks
 * without scores.
 *
 * Buckets close when the first event of a later bucket is processed (events come in event-time
 * order) or when the watermark passes their end; closing teaches the model the bucket's count. A
 * late event (older than the watermark) of a closed bucket is not counted (`lateIgnored`).
 *
 * State is long-lived: weeks of history per destination. It is bounded by `limits.maxKeys`
 * destinations (least recently seen evicted, counted as `max_keys`), each with a ~500-byte model,
 * a 256-byte filter of familiar sources and, while its bucket is open, at most `sketchThreshold`
 * source strings or a 4 KiB sketch. It survives restarts through `snapshot()` / `restore()` (a
 * compacted changelog keyed by destination; `drainChanges()` gives what changed since the last call)
 * and, for replay, a snapshot file (rdp/snapshotFile.ts). It is not rebuilt by re-reading input, so
 * `oldestHeldArrival()` is undefined: holding the Kafka commit back for weeks of history would make
 * every restart re-read weeks of data.
 */
import { decodeEvent, type EcsEvent, type Origin } from '../ecs/event.js';
import type { JsonObject } from '../ecs/fields.js';
import { pickSubtrees } from '../ecs/nest.js';
import { formatEventTime } from '../ecs/time.js';
import { DistinctCounter } from '../state/distinctCounter.js';
import { FamiliarSources } from '../state/familiarSources.js';
import { hashString32 } from '../state/hash32.js';
import { RecencyList, type RecencyNode } from '../state/recencyList.js';
import { anomalyScore, oneSidedProbability, probabilityForCeiling } from './rdp/anomalyScore.js';
import { BucketLayout } from './rdp/bucketLayout.js';
import { DestinationModel, MODEL_HALF_LIFE_WEEKS, countUpperTail, type ModelJson } from './rdp/destinationModel.js';
import { extractRdpEvidence, mayBeRdpEvidence, RDP_EVIDENCE_INTEREST, type RdpEvidence } from './rdp/evidence.js';
import { normalisedScore } from './rdp/normaliser.js';
import { OpenBucket, type OpenBucketJson, type RunningTest } from './rdp/openBucket.js';
import { PopulationPrior, type PopulationJson } from './rdp/population.js';
import type { Detection, DetectionContext, Emit, Finding } from './detection.js';
import type { RuleMeta } from './rule.js';

export const RDP_SPIKE_RULE: RuleMeta = {
  id: '18a5dd9a-e3fa-4996-99b1-ae533b8f27fc',
  name: 'Spike in Number of Connections Made to a Destination IP',
  description:
    'An unusually high number of distinct source IPs established RDP connections with a single destination IP, ' +
    "judged against that destination's own daily and weekly rhythm (or, for a destination seen for the first time, " +
    'against all destinations). Attackers might use multiple compromised systems to attack a target to ensure ' +
    'redundancy in case a source IP gets detected and blocked.',
  severity: 'low',
  riskScore: 21,
  // detection-rules' version.lock.json at the HEAD read in reference/rules.md §0 (job `…_ea`).
  version: '110',
  author: ['Elastic', 'picket'],
  license: 'Elastic License v2',
  // The rule itself lists no references (seed 004, rules.md §A.4): its source file only.
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/integrations/lmd/lateral_movement_ml_spike_in_connections_to_a_destination_ip.toml',
  ],
  threat: [
    {
      tactic: { id: 'TA0008', name: 'Lateral Movement' },
      techniques: [
        {
          id: 'T1021',
          name: 'Remote Services',
          subtechniques: [{ id: 'T1021.001', name: 'Remote Desktop Protocol' }],
        },
        { id: 'T1210', name: 'Exploitation of Remote Services' },
      ],
    },
  ],
};

export type RdpSpikeFiring = 'running' | 'close';

export interface RdpSpikeOptions {
  /** Bucket span, ms (Elastic's job: 6 h). */
  readonly bucketSpanMs?: number;
  /** Score (0–100) at which an alert fires (Elastic's rule: 70). */
  readonly scoreThreshold?: number;
  /** Distinct sources per destination and bucket counted exactly; past it, a HyperLogLog sketch. */
  readonly sketchThreshold?: number;
  /** New sources listed in an alert. */
  readonly maxNewSources?: number;
  /** 'running' (default): as soon as the open bucket's count is anomalous; 'close': at bucket close. */
  readonly fireOn?: RdpSpikeFiring;
  /** Sub-slots a bucket is divided into for early firing. */
  readonly subslots?: number;
  /** Record which destinations changed, for drainChanges() (the changelog). */
  readonly trackChanges?: boolean;
}

export const DEFAULT_RDP_SPIKE_OPTIONS = {
  bucketSpanMs: 6 * 3_600_000,
  scoreThreshold: 70,
  sketchThreshold: 256,
  maxNewSources: 10,
  fireOn: 'running' as RdpSpikeFiring,
  subslots: 12,
  trackChanges: false,
} as const;

/** Changelog/snapshot key of the partition-wide state (not an address, so no destination's). */
export const POPULATION_KEY = '#population';

const ENTITY_FIELDS = ['host', 'source', 'destination', 'process', 'user'] as const;

/** Repartition key of every RDP connection (see routeKey()). */
export const RDP_POPULATION_KEY = 'rdp-population';

interface Destination extends RecencyNode {
  readonly key: string;
  readonly model: DestinationModel;
  readonly familiar: FamiliarSources;
  /** Week (generation of `familiar`) last rotated to. */
  generation: number;
  open: OpenBucket | undefined;
}

interface StoredEvent {
  readonly raw: string;
  readonly origin: Origin;
  readonly arrival: number;
}

interface DestinationJson {
  readonly v: 1;
  readonly model: ModelJson;
  readonly fam: string;
  readonly gen: number;
  readonly open?: OpenBucketJson & { readonly first?: StoredEvent; readonly last?: StoredEvent };
}

interface PartitionJson {
  readonly v: 1;
  readonly population: PopulationJson;
  readonly current: number | null;
  readonly closedBefore: number | null;
  /** Destinations with an open bucket, in the order they opened it. */
  readonly open: readonly string[];
}

const NO_EMIT: Emit = () => undefined;
const utf8 = new TextDecoder();

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export class RdpSpikeDetector implements Detection {
  readonly rule = RDP_SPIKE_RULE;
  readonly key = 'rdp_spike';
  readonly ordered = true;
  readonly options: Required<RdpSpikeOptions>;
  readonly layout: BucketLayout;
  /** Late events of buckets already closed: not counted. */
  lateIgnored = 0;

  private population: PopulationPrior;
  private readonly destinations = new Map<string, Destination>();
  private readonly recency = new RecencyList<Destination>();
  /** Destinations whose current bucket is open, in the order they opened it. */
  private readonly openSet = new Set<Destination>();
  private readonly changed = new Set<string>();
  private readonly maxKeys: number;
  private readonly windows: number;
  /** A score of `scoreThreshold` needs a probability at most this (Elastic's ceiling). */
  private readonly pCeiling: number;
  /** Latest bucket of an in-order event; NaN before the first. */
  private current = Number.NaN;
  /** Every bucket before this one is closed. */
  private closedBefore = Number.NaN;

  constructor(
    private readonly ctx: DetectionContext,
    opts: RdpSpikeOptions = {},
  ) {
    const fromSettings = (ctx.settings as { rdpSpike?: RdpSpikeOptions } | undefined)?.rdpSpike ?? {};
    const o = { ...DEFAULT_RDP_SPIKE_OPTIONS, ...fromSettings, ...opts };
    if (!(o.scoreThreshold > 0 && o.scoreThreshold <= 100))
      throw new Error(`scoreThreshold must be in (0, 100], not ${o.scoreThreshold}`);
    if (!Number.isInteger(o.maxNewSources) || o.maxNewSources < 0)
      throw new Error('maxNewSources must be a non-negative integer');
    if (o.fireOn !== 'running' && o.fireOn !== 'close') throw new Error(`fireOn must be 'running' or 'close'`);
    this.options = o;
    this.layout = new BucketLayout(o.bucketSpanMs, o.subslots);
    this.population = new PopulationPrior(this.layout, this.layout.decayPerBucket(MODEL_HALF_LIFE_WEEKS));
    this.maxKeys = Math.max(1, ctx.limits.maxKeys);
    this.windows = Math.ceil(o.subslots / 2);
    this.pCeiling = probabilityForCeiling(o.scoreThreshold);
    new DistinctCounter(o.sketchThreshold); // validates it
  }

  readonly interest = RDP_EVIDENCE_INTEREST;

  wants(event: EcsEvent): boolean {
    return mayBeRdpEvidence(event.doc);
  }

  readonly keyedBy = 'other';

  /**
   * One key for every RDP connection, not its destination: each destination's model leans on a
   * population prior learned from all destinations (as Elastic's job does), so destinations split
   * over partitions would learn different priors and alert differently from one process (the scale
   * test showed it). All RDP evidence, a small share of a stream, goes to one detector partition;
   * the models within it stay per destination.
   */
  routeKey(event: EcsEvent): string | undefined {
    if (!mayBeRdpEvidence(event.doc)) return undefined;
    return extractRdpEvidence(event.doc) === undefined ? undefined : RDP_POPULATION_KEY;
  }

  onEvent(event: EcsEvent, emit: Emit): void {
    const doc = event.doc;
    if (!mayBeRdpEvidence(doc)) return;
    const evidence = extractRdpEvidence(doc);
    if (evidence === undefined) return;
    const b = this.layout.bucketOf(event.time);
    if (Number.isNaN(this.current)) {
      this.current = b;
      this.closedBefore = b;
    } else if (b > this.current) {
      this.closeBefore(b, emit);
      this.current = b;
    }
    if (b < this.closedBefore) {
      this.lateIgnored++;
      return;
    }
    const dest = this.destination(evidence.destination, b);
    const open = dest.open ?? this.openBucket(dest, b, event);
    if (this.options.fireOn === 'close') open.last = event;
    const hash = hashString32(evidence.source);
    const j = this.layout.subslotOf(event.time, b);
    if (open.add(evidence.source, hash, j) <= 0) return;

    if (!dest.familiar.has(hash)) {
      open.newTotal++;
      if (open.newSources.length < this.options.maxNewSources) open.newSources.push(evidence.source);
    }
    dest.familiar.add(hash);
    if (this.options.trackChanges) this.changed.add(dest.key);

    const test = open.running(j, this.windows);
    if (test.p < open.minP) open.minP = test.p;
    if (this.options.fireOn !== 'running' || open.fired || test.p > this.pCeiling) return;
    const score = normalisedScore(test.p, dest.model.data, dest.model.histogramOffset);
    if (score < this.options.scoreThreshold) return;
    open.fired = true;
    emit(this.finding(dest, open, event, evidence, score, test, j));
  }

  onWatermark(watermark: number): void {
    // At close, alerts are emitted by the next event (onWatermark never emits).
    if (this.options.fireOn === 'close' || Number.isNaN(this.current)) return;
    if (watermark >= this.layout.endOf(this.current) && this.closedBefore <= this.current) {
      this.closeBefore(this.current + 1, NO_EMIT);
    }
  }

  /** Durable state lives in the changelog, not in re-readable input: see the file comment. */
  oldestHeldArrival(): number | undefined {
    return undefined;
  }

  /** Destinations held plus open buckets. */
  stateSize(): number {
    return this.destinations.size + this.openSet.size;
  }

  /** Destinations held (for tests and metrics). */
  get destinationCount(): number {
    return this.destinations.size;
  }

  // ---- buckets ----------------------------------------------------------------------------

  private destination(key: string, b: number): Destination {
    let dest = this.destinations.get(key);
    if (dest === undefined) {
      if (this.destinations.size >= this.maxKeys) this.evictLeastRecent();
      dest = {
        key,
        model: new DestinationModel(this.layout, b),
        familiar: new FamiliarSources(),
        generation: this.generationOf(b),
        open: undefined,
        older: undefined,
        newer: undefined,
      };
      this.destinations.set(key, dest);
    }
    this.recency.touch(dest);
    return dest;
  }

  private evictLeastRecent(): void {
    const victim = this.recency.leastRecent();
    if (victim === undefined) return;
    this.recency.unlink(victim);
    this.destinations.delete(victim.key);
    this.openSet.delete(victim);
    if (this.options.trackChanges) this.changed.add(victim.key);
    this.ctx.countEviction('max_keys');
  }

  private generationOf(b: number): number {
    return Math.floor(b / this.layout.bucketsPerWeek);
  }

  private openBucket(dest: Destination, b: number, first: EcsEvent): OpenBucket {
    dest.model.advanceTo(b, this.population);
    const generation = this.generationOf(b);
    if (generation > dest.generation) {
      dest.familiar.rotate(generation - dest.generation);
      dest.generation = generation;
    }
    const open = new OpenBucket(b, dest.model.expect(b, this.population), this.options.sketchThreshold);
    open.first = first;
    dest.open = open;
    this.openSet.add(dest);
    return open;
  }

  /** Closes every open bucket (all are before `b`) and accounts the buckets before `b`. */
  private closeBefore(b: number, emit: Emit): void {
    for (const dest of this.openSet) this.close(dest, emit);
    this.openSet.clear();
    const from = Math.max(this.closedBefore, b - Math.round(this.layout.bucketsPerWeek));
    for (let bb = from; bb < b; bb++) this.population.observeDestinations(bb, this.destinations.size);
    this.closedBefore = Math.max(this.closedBefore, b);
    if (this.options.trackChanges) this.changed.add(POPULATION_KEY);
  }

  private close(dest: Destination, emit: Emit): void {
    const open = dest.open;
    if (open === undefined) return;
    dest.open = undefined;
    const e = open.expectation;
    const count = Math.round(open.counter.count);
    const pFinal = oneSidedProbability(countUpperTail(count, e.mean, e.phi));
    if (this.options.fireOn === 'close' && pFinal <= this.pCeiling) {
      const score = normalisedScore(pFinal, dest.model.data, dest.model.histogramOffset);
      const trigger = open.last;
      if (score >= this.options.scoreThreshold && trigger !== undefined) {
        const evidence = extractRdpEvidence(trigger.doc)!;
        const test: RunningTest = { p: pFinal, count, recent: Math.round(open.arrivals.reduce((a, c) => a + c, 0)) };
        emit(this.finding(dest, open, trigger, evidence, score, test, this.layout.subslots - 1));
      }
    }
    const raw = anomalyScore(Math.min(pFinal, open.minP));
    const learned = dest.model.learn(open.bucket, count, open.arrivals, raw, e);
    this.population.observeBucket(open.bucket, learned.count, open.arrivals, e.level, learned.dispA, learned.dispB);
    if (this.options.trackChanges) this.changed.add(dest.key);
  }

  private finding(
    dest: Destination,
    open: OpenBucket,
    trigger: EcsEvent,
    evidence: RdpEvidence,
    score: number,
    test: RunningTest,
    j: number,
  ): Finding {
    const e = open.expectation;
    const first = open.first;
    const entities = pickSubtrees(trigger.doc, ENTITY_FIELDS);
    entities.source = { ...((entities.source as JsonObject | undefined) ?? {}), ip: evidence.source };
    entities.destination = { ...((entities.destination as JsonObject | undefined) ?? {}), ip: dest.key };
    const start = this.layout.startOf(open.bucket);
    return {
      rule: this.rule,
      events: first !== undefined && first !== trigger ? [first, trigger] : [trigger],
      trigger,
      entities,
      discriminator: `${dest.key}@${formatEventTime(start)}`,
      details: {
        score: round(score, 1),
        threshold: this.options.scoreThreshold,
        fired_on: this.options.fireOn,
        count: test.count,
        count_exact: open.counter.exact,
        typical_count: round(e.mean, 2),
        expected_count_so_far: round(this.options.fireOn === 'close' ? e.mean : e.cumMean[j]!, 2),
        recent: { count: test.recent, expected: round(e.winMean[j]!, 2) },
        probability: Number(test.p.toPrecision(3)),
        new_sources: [...open.newSources],
        new_source_count: open.newTotal,
        bucket: {
          start: formatEventTime(start),
          end: formatEventTime(this.layout.endOf(open.bucket)),
          span_ms: this.layout.spanMs,
        },
        evidence: evidence.kind,
        history_buckets: Math.max(0, dest.model.historyBuckets),
      },
    };
  }

  // ---- durable state ----------------------------------------------------------------------

  /** Every destination's state (least recently seen first) and the partition-wide state. */
  snapshot(): Map<string, string> {
    const out = new Map<string, string>();
    out.set(POPULATION_KEY, this.partitionValue());
    const ordered: Destination[] = [];
    for (let d = this.recency.leastRecent(); d !== undefined; d = d.newer as Destination | undefined) ordered.push(d);
    for (const d of ordered) out.set(d.key, this.destinationValue(d));
    return out;
  }

  /**
   * What changed since the last call (needs `trackChanges`): a value per changed key, null for a
   * destination evicted (a tombstone in the compacted changelog).
   */
  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const key of this.changed) {
      if (key === POPULATION_KEY) out.set(key, this.partitionValue());
      else {
        const d = this.destinations.get(key);
        out.set(key, d === undefined ? null : this.destinationValue(d));
      }
    }
    this.changed.clear();
    return out;
  }

  /**
   * Replaces the state with `entries` (snapshot() or the changelog's latest value per key; null
   * values are tombstones). Destinations are restored in the order given (least recent first).
   */
  restore(entries: Iterable<readonly [string, string | null]>): void {
    this.destinations.clear();
    this.recency.clear();
    this.openSet.clear();
    this.changed.clear();
    this.population = new PopulationPrior(this.layout, this.layout.decayPerBucket(MODEL_HALF_LIFE_WEEKS));
    this.current = Number.NaN;
    this.closedBefore = Number.NaN;
    let partition: PartitionJson | undefined;
    for (const [key, value] of entries) {
      if (value === null) continue;
      if (key === POPULATION_KEY) {
        partition = JSON.parse(value) as PartitionJson;
        continue;
      }
      const d = this.parseDestination(key, JSON.parse(value) as DestinationJson);
      if (this.destinations.size >= this.maxKeys) this.evictLeastRecent();
      this.destinations.set(key, d);
      this.recency.touch(d);
    }
    if (partition !== undefined) {
      if (partition.v !== 1) throw new Error(`unknown D4 partition state version ${String(partition.v)}`);
      this.population.restore(partition.population);
      this.current = partition.current ?? Number.NaN;
      this.closedBefore = partition.closedBefore ?? Number.NaN;
      for (const key of partition.open) {
        const d = this.destinations.get(key);
        if (d?.open !== undefined) this.openSet.add(d);
      }
    }
    for (const d of this.destinations.values()) if (d.open !== undefined) this.openSet.add(d);
  }

  private partitionValue(): string {
    const json: PartitionJson = {
      v: 1,
      population: this.population.toJSON(),
      current: Number.isNaN(this.current) ? null : this.current,
      closedBefore: Number.isNaN(this.closedBefore) ? null : this.closedBefore,
      open: [...this.openSet].map((d) => d.key),
    };
    return JSON.stringify(json);
  }

  private destinationValue(d: Destination): string {
    const json: DestinationJson = {
      v: 1,
      model: d.model.toJSON(),
      fam: d.familiar.toBase64(),
      gen: d.generation,
      ...(d.open === undefined
        ? {}
        : {
            open: {
              ...d.open.toJSON(),
              ...(d.open.first === undefined ? {} : { first: storeEvent(d.open.first) }),
              ...(d.open.last === undefined ? {} : { last: storeEvent(d.open.last) }),
            },
          }),
    };
    return JSON.stringify(json);
  }

  private parseDestination(key: string, json: DestinationJson): Destination {
    if (json.v !== 1) throw new Error(`unknown D4 destination state version ${String(json.v)}`);
    const dest: Destination = {
      key,
      model: DestinationModel.fromJSON(json.model, this.layout),
      familiar: FamiliarSources.fromBase64(json.fam),
      generation: json.gen,
      open: undefined,
      older: undefined,
      newer: undefined,
    };
    if (json.open !== undefined) {
      const open = OpenBucket.fromJSON(json.open, this.options.sketchThreshold);
      open.first = loadEvent(json.open.first);
      open.last = loadEvent(json.open.last);
      dest.open = open;
    }
    return dest;
  }
}

function storeEvent(e: EcsEvent): StoredEvent {
  return { raw: typeof e.raw === 'string' ? e.raw : utf8.decode(e.raw), origin: e.origin, arrival: e.arrival };
}

function loadEvent(s: StoredEvent | undefined): EcsEvent | undefined {
  if (s === undefined) return undefined;
  const res = decodeEvent(s.raw, s.origin, s.arrival);
  return res.ok ? res.event : undefined;
}
