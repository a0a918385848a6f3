/**
 * A static PEP 503 index as people really run one: a directory of wheel files and
 * `simple/<name>/index.html` pages (no hashes unless asked), served by Python's own
 * `python3 -m http.server`, software nobody here wrote. The wheels are real zip files
 * (METADATA, WHEEL, RECORD), so pip can install them too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalizeName } from '../../src/domain/pep503.js';

export interface StaticIndex {
  /** `http://127.0.0.1:<port>/simple` */
  readonly simpleUrl: string;
  /** Requests Python logged (`GET /simple/x/`), in order. */
  readonly requests: string[];
  /** The same requests with the status Python answered (304: its If-Modified-Since check held). */
  readonly answers: { readonly request: string; readonly status: number }[];
  /** Adds a wheel of `project` `version` and rewrites the project's page. */
  addWheel(project: string, version: string): void;
  /** Starts (or stops) giving `#sha256=` fragments, as an index that learns to publish them. */
  setHashes(on: boolean): void;
  /** Replaces a wheel's bytes (same name), as a file changed behind the page. */
  rebuildWheel(project: string, version: string): void;
  stop(): Promise<void>;
}

const WHEEL_SCRIPT = `
import sys, zipfile
path, dist, version, salt = sys.argv[1:5]
info = f"{dist}-{version}.dist-info"
with zipfile.ZipFile(path, "w") as wheel:
    wheel.writestr(f"{dist}/__init__.py", f"__version__ = {version!r}\\n# {salt}\\n")
    wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\\nName: {dist}\\nVersion: {version}\\n")
    wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: pkgstream-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    wheel.writestr(f"{info}/RECORD", "")
`;

export async function startStaticIndex(options: { readonly hashes?: boolean } = {}): Promise<StaticIndex> {
  let hashes = options.hashes ?? false;
  const root = mkdtempSync(join(tmpdir(), 'pkgstream-static-index-'));
  mkdirSync(join(root, 'files'));
  const wheelsOf = new Map<string, string[]>();

  const writePage = (name: string) => {
    const links = (wheelsOf.get(name) ?? []).map((file) => {
      const digest = hashes ? `#sha256=${createHash('sha256').update(readFileSync(join(root, 'files', file))).digest('hex')}` : '';
      return `    <a href="../../files/${file}${digest}">${file}</a><br/>`;
    });
    mkdirSync(join(root, 'simple', name), { recursive: true });
    writeFileSync(join(root, 'simple', name, 'index.html'), `<!DOCTYPE html>\n<html><body>\n${links.join('\n')}\n</body></html>\n`);
    const projects = [...wheelsOf.keys()].sort().map((project) => `    <a href="${project}/">${project}</a><br/>`);
    writeFileSync(join(root, 'simple', 'index.html'), `<!DOCTYPE html>\n<html><body>\n${projects.join('\n')}\n</body></html>\n`);
  };

  /** Builds the wheel file (its module text varies with `salt`); its file name. */
  const buildWheel = (name: string, version: string, salt = ''): string => {
    const dist = name.replace(/-/g, '_');
    const file = `${dist}-${version}-py3-none-any.whl`;
    const made = spawnSync('python3', ['-c', WHEEL_SCRIPT, join(root, 'files', file), dist, version, salt], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`could not build ${file}: ${made.stderr}`);
    return file;
  };

  const child: ChildProcess = spawn('python3', ['-u', '-m', 'http.server', '--bind', '127.0.0.1', '--directory', root, '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const requests: string[] = [];
  const answers: { request: string; status: number }[] = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const match of chunk.toString().matchAll(/"(GET|HEAD) (\S+) HTTP\/[\d.]+" (\d{3})/g)) {
      requests.push(`${match[1]} ${match[2]}`);
      answers.push({ request: `${match[1]} ${match[2]}`, status: Number(match[3]) });
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`python3 -m http.server exited with ${String(code)}: ${out}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /port (\d+)/.exec(out);
      if (found) resolve(Number(found[1]));
    });
  });

  return {
    simpleUrl: `http://127.0.0.1:${String(port)}/simple`,
    requests,
    answers,
    addWheel(project, version) {
      const name = canonicalizeName(project);
      wheelsOf.set(name, [...(wheelsOf.get(name) ?? []), buildWheel(name, version)]);
      writePage(name);
    },
    setHashes(on) {
      hashes = on;
      for (const name of wheelsOf.keys()) writePage(name);
    },
    rebuildWheel(project, version) {
      const name = canonicalizeName(project);
      buildWheel(name, version, `${String(Date.now())}`);
      writePage(name);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
