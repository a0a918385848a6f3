/**
 * operator_overhead: the cost of RxJS. The same inputs ({stored release, its project page},
 * 10 % of them repeats of an earlier key) go through `dedupe` + a `map` to diffRelease in an
 * RxJS pipeline, and through a hand-written loop doing the same work (an lru-cache of the
 * same size for the keys, diffRelease on each first-seen item). Both are warmed up, then
 * timed over several rounds (alternating which goes first); the best round of each counts. ratio = rx / loop.
 */
import { LRUCache } from 'lru-cache';
import { from, map } from 'rxjs';
import { dedupe } from '../src/operators/dedupe.js';
import { diffRelease } from '../src/domain/release-diff.js';
import type { IndexFile, ProjectPage, StoredRelease } from '../src/domain/types.js';
import type { BenchOptions } from './support/args.js';
import { now, progress, round } from './support/util.js';

export interface OperatorOverheadResult {
  readonly rx_per_s: number;
  readonly loop_per_s: number;
  readonly ratio: number;
}

const VERSIONS = 5;
const ROUNDS = 4;
const hex = (n: number): string => n.toString(16).padStart(64, '0');

function inputs(count: number): DiffInput[] {
  const pages = new Map<number, ProjectPage>();
  const pageOf = (p: number): ProjectPage => {
    let page = pages.get(p);
    if (!page) {
      const releases = Array.from({ length: VERSIONS }, (_, j) => {
        const files: IndexFile[] = ['whl', 'tar.gz'].map((ext, f) => ({
          filename: `p${p}-1.${j}.${ext}`,
          sha256: hex(p * 100 + j * 10 + f),
          yanked: false,
          yankedReason: null,
          uploadTime: null,
          size: null,
        }));
        return { version: `1.${j}`, files };
      });
      page = { project: `p${p}`, releases, validators: {} };
      pages.set(p, page);
    }
    return page;
  };
  const out: DiffInput[] = [];
  for (let i = 0; i < count; i += 1) {
    // Every tenth item repeats the key of an item 50 before it.
    const g = i % 10 === 9 && i >= 50 ? i - 50 : i;
    const p = Math.floor(g / VERSIONS);
    const j = g % VERSIONS;
    const stored: StoredRelease = {
      id: g + 1,
      indexId: 1,
      indexUrl: 'https://bench.invalid/simple',
      project: `p${p}`,
      version: `1.${j}`,
      state: 'present',
      yankedReason: null,
      // One release in seven has a changed digest, so both paths of the diff run.
      artifacts: [
        { filename: `p${p}-1.${j}.whl`, sha256: hex(p * 100 + j * 10) },
        { filename: `p${p}-1.${j}.tar.gz`, sha256: g % 7 === 0 ? hex(1) : hex(p * 100 + j * 10 + 1) },
      ],
      lastCheckedAt: null,
      nextDueAt: new Date(0),
    };
    out.push({ stored, page: pageOf(p) });
  }
  return out;
}

interface DiffInput {
  readonly stored: StoredRelease;
  readonly page: ProjectPage | 'not-found';
}

const keyOf = (input: DiffInput): string => `${input.stored.indexUrl}|${input.stored.project}|${input.stored.version}`;

/** Changes found (a checksum, so neither path can be optimised away). */
function viaRx(items: readonly DiffInput[], max: number): number {
  let changes = 0;
  from(items)
    .pipe(
      dedupe({ key: keyOf, max }),
      map((input) => ({ ...input, changes: diffRelease(input.stored, input.page) })),
    )
    .subscribe((item) => (changes += item.changes.length));
  return changes;
}

function viaLoop(items: readonly DiffInput[], max: number): number {
  const seen = new LRUCache<string, number>({ max });
  let changes = 0;
  for (const item of items) {
    const key = keyOf(item);
    if (seen.get(key) !== undefined) continue;
    seen.set(key, Infinity);
    changes += diffRelease(item.stored, item.page).length;
  }
  return changes;
}

export function operatorOverhead(options: BenchOptions): OperatorOverheadResult & { readonly details: Record<string, unknown> } {
  const items = inputs(options.events);
  const max = options.events;
  const warm = items.slice(0, Math.min(items.length, 20_000));
  for (let i = 0; i < 5; i += 1) {
    viaRx(warm, max);
    viaLoop(warm, max);
  }
  let rxBest = Infinity;
  let loopBest = Infinity;
  let rxChanges = 0;
  let loopChanges = 0;
  const timeRx = () => {
    const started = now();
    rxChanges = viaRx(items, max);
    rxBest = Math.min(rxBest, now() - started);
  };
  const timeLoop = () => {
    const started = now();
    loopChanges = viaLoop(items, max);
    loopBest = Math.min(loopBest, now() - started);
  };
  for (let round_ = 0; round_ < ROUNDS; round_ += 1) {
    // Alternate which goes first, so that neither always pays for the other's garbage.
    if (round_ % 2 === 0) {
      timeRx();
      timeLoop();
    } else {
      timeLoop();
      timeRx();
    }
  }
  if (rxChanges !== loopChanges) throw new Error(`operator_overhead: the two paths disagree (${rxChanges} vs ${loopChanges} changes)`);
  const rxPerS = items.length / (rxBest / 1000);
  const loopPerS = items.length / (loopBest / 1000);
  progress(`operator_overhead: rx ${round(rxPerS)}/s, loop ${round(loopPerS)}/s over ${items.length} events`);
  return {
    rx_per_s: Math.round(rxPerS),
    loop_per_s: Math.round(loopPerS),
    ratio: round(rxPerS / loopPerS, 3),
    details: { events: items.length, rounds: ROUNDS, changes: rxChanges, rx_best_ms: round(rxBest), loop_best_ms: round(loopBest) },
  };
}
