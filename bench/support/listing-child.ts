/**
 * Parses one synthetic PEP 691 root listing (Warehouse's shape: `meta._last-serial`, and a
 * name and `_last-serial` per project) in a process of its own, so each size and mode has a
 * heap of its own. `streamed` is the client's reader (src/sources/index-client/project-list.ts)
 * keeping the `--changed` newest projects, as a backfill does; `whole` is `JSON.parse` of the
 * whole body, then the same filter. The body is made in 64 KB chunks as it is read (streamed)
 * or joined first (whole). Prints one JSON line: listed, kept, seconds, peak RSS.
 *
 *   tsx bench/support/listing-child.ts --projects 600000 --changed 1000 --mode streamed|whole
 */
import { parseArgs } from 'node:util';
import { readJsonListing } from '../../src/sources/index-client/project-list.js';

const { values } = parseArgs({
  options: {
    projects: { type: 'string', default: '600000' },
    changed: { type: 'string', default: '1000' },
    mode: { type: 'string', default: 'streamed' },
    warmup: { type: 'boolean', default: false },
  },
});
if (values.warmup) process.exit(0);

const projects = Number(values.projects);
const since = projects - Number(values.changed);

/** The listing, 64 KB at a time: project n has serial n + 1 (the newest last, as serials rise). */
function* listing(): Generator<Buffer> {
  let text = `{"meta":{"api-version":"1.1","_last-serial":${projects}},"projects":[`;
  for (let n = 0; n < projects; n += 1) {
    text += `${n === 0 ? '' : ','}{"name":"project-${n.toString(36)}-${n}","_last-serial":${n + 1}}`;
    if (text.length >= 64 * 1024) {
      yield Buffer.from(text);
      text = '';
    }
  }
  yield Buffer.from(`${text}]}`);
}

async function* streamed(): AsyncGenerator<Buffer> {
  yield* listing();
}

const started = performance.now();
let listed: number;
let kept: number;
if (values.mode === 'whole') {
  const body = JSON.parse(Buffer.concat([...listing()]).toString('utf8')) as { projects: { name: string; '_last-serial': number }[] };
  listed = body.projects.length;
  kept = body.projects.filter((p) => p['_last-serial'] > since).length;
} else {
  const parsed = await readJsonListing(streamed(), 'bench://listing', (p) => (p.lastSerial ?? 0) > since);
  listed = parsed.listing.listed;
  kept = parsed.listing.projects.length;
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ listed, kept, seconds, max_rss_mb: process.resourceUsage().maxRSS / 1024 })}\n`);
