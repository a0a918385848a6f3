/**
 * `--projects N --versions M`: a seed of real-looking projects, the same for the same
 * arguments. Names mix the spellings real indexes hold (dots, underscores, dashes, mixed
 * case: `Flask-Cache`, `zope.json`, `py_yaml_tools`), all distinct after PEP 503
 * normalization; versions rise like real release histories (patches, minors, an rc before
 * each major).
 */
import { canonical } from './artifacts.js';
import { seeded } from './faults.js';
import type { SeedDocument } from './seed.js';

const PREFIXES = ['py', 'django', 'flask', 'aio', 'fast', 'zope', 'sphinx', 'pytest', 'jupyter', 'open', 'tiny', 'data', 'async', 'micro'];
const WORDS = ['http', 'json', 'yaml', 'cache', 'client', 'utils', 'tools', 'auth', 'schema', 'stream', 'queue', 'router', 'metrics', 'config', 'cli', 'orm'];
const REQUIRES_PYTHON = ['>=3.8', '>=3.9', null, '>=3.7,<4', '>=3.10'];

type Style = (parts: string[]) => string;
const title = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
const STYLES: Style[] = [
  (p) => p.join('-'),
  (p) => p.join('_'),
  (p) => p.join('.'),
  (p) => p.map(title).join('-'),
  (p) => p.map(title).join(''),
  (p) => p.join('-').toUpperCase(),
];

/** The j-th version of a release history: 0.1.0, 0.1.1, 0.2.0, ... with `<major>.0.0rc1` before each major. */
export function generatedVersion(j: number): string {
  const major = Math.floor(j / 10);
  const inMajor = j % 10;
  if (inMajor === 9) return `${major + 1}.0.0rc1`;
  const minor = Math.floor(inMajor / 3) + (major === 0 ? 1 : 0);
  return `${major}.${minor}.${inMajor % 3}`;
}

export function generateSeed(projects: number, versions: number, seed = 1): SeedDocument {
  const random = seeded(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const taken = new Set<string>();
  const out: SeedDocument['projects'] = [];
  for (let i = 0; i < projects; i += 1) {
    const parts = [pick(PREFIXES), pick(WORDS)];
    if (random() < 0.3) parts.push(pick(WORDS));
    let name = pick(STYLES)(parts);
    for (let n = 2; taken.has(canonical(name)); n += 1) name = `${pick(STYLES)(parts)}${n}`;
    taken.add(canonical(name));
    const requiresPython = pick(REQUIRES_PYTHON);
    out.push({
      name,
      summary: `${title(parts[1] ?? 'tools')} ${parts[2] ?? 'helpers'} for ${parts[0]} projects`,
      releases: Array.from({ length: versions }, (_, j) => ({ version: generatedVersion(j), requiresPython })),
    });
  }
  return { projects: out };
}
