/**
 * The embedded database's exclusive lock: one process at a time opens a data directory's
 * PGlite files (a second one would lose its writes, or corrupt them). The lock is the file
 * `<dataDir>/pkgstream.lock`, holding `{pid, startedAt, httpUrl?}`, made atomically with
 * its content (written aside, then hard-linked into place: a reader never sees it half
 * written). The lock of a process that is gone (kill -9, a container restarted) is taken
 * over. `readDataDirLock` tells a command which live process holds the directory and, once
 * `run` serves its API, where.
 */
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PkgstreamError } from '../domain/errors.js';

export interface DataDirLockInfo {
  readonly pid: number;
  readonly startedAt: string;
  /** Where the holder's HTTP API answers (`run`, once it serves it). */
  readonly httpUrl?: string;
}

export interface DataDirLock {
  /** Records where this process's API answers, for the commands run beside it. */
  setHttpUrl(httpUrl: string): void;
  release(): void;
}

const lockPath = (dataDir: string) => join(resolve(dataDir), 'pkgstream.lock');

/** Locks this process holds (path → release): a second open in the same process is refused too. */
const held = new Map<string, () => void>();
// A process that ends without closing its database (a crash, process.exit) lets go too.
process.on('exit', () => {
  for (const release of held.values()) release();
});

/** The holder still runs. Our own pid without our lock is an earlier process's (a container restarted, pid 1 again). */
function holderAlive(info: DataDirLockInfo, path: string): boolean {
  if (info.pid === process.pid) return held.has(path);
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's content; null when there is none or it is not a lock (nobody holds it). */
function readInfo(path: string): DataDirLockInfo | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Someone else's (another user's) lock is never taken over.
    throw new PkgstreamError('DATA_DIR_LOCKED', `the data directory lock ${path} cannot be read: ${(error as Error).message}`);
  }
  try {
    const info = JSON.parse(text) as DataDirLockInfo;
    return Number.isInteger(info.pid) && typeof info.startedAt === 'string' ? info : null;
  } catch {
    return null;
  }
}

/** The live process holding `dataDir`, or null. */
export function readDataDirLock(dataDir: string): DataDirLockInfo | null {
  const path = lockPath(dataDir);
  const info = readInfo(path);
  return info !== null && holderAlive(info, path) ? info : null;
}

/** Writes `info` aside, then links it into place: false when a lock is there already. */
function tryCreate(path: string, info: DataDirLockInfo): boolean {
  const aside = `${path}.${process.pid}`;
  writeFileSync(aside, JSON.stringify(info), { mode: 0o600 });
  try {
    linkSync(aside, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(aside);
  }
}

/** Moves a dead holder's lock away; a live lock another taker made meanwhile is put back. */
function removeStale(path: string, stale: DataDirLockInfo | null): void {
  const moved = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, moved);
  } catch {
    return; // another taker moved it first
  }
  const found = readInfo(moved);
  if (found !== null && (found.pid !== stale?.pid || found.startedAt !== stale.startedAt)) {
    try {
      linkSync(moved, path);
    } catch {
      // a third lock is in place: it stands
    }
  }
  unlinkSync(moved);
}

function lockedMessage(dataDir: string, holder: DataDirLockInfo | null): string {
  const who = holder ? `pkgstream pid ${holder.pid} (since ${holder.startedAt})` : 'another process';
  return `the data directory ${dataDir} is in use by ${who}: stop it first${holder?.httpUrl ? `, or use its API at ${holder.httpUrl}` : ''}`;
}

/** Throws DATA_DIR_LOCKED when a live process holds `dataDir` (a check before the real take). */
export function refuseIfLocked(dataDir: string): void {
  const holder = readDataDirLock(dataDir);
  if (holder !== null) throw new PkgstreamError('DATA_DIR_LOCKED', lockedMessage(dataDir, holder));
}

/** Takes the lock of `dataDir` (which exists), or throws DATA_DIR_LOCKED naming the holder. */
export function acquireDataDirLock(dataDir: string): DataDirLock {
  const path = lockPath(dataDir);
  let info: DataDirLockInfo = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; !tryCreate(path, info); attempt += 1) {
    const current = readInfo(path);
    if ((current !== null && holderAlive(current, path)) || attempt >= 3) {
      throw new PkgstreamError('DATA_DIR_LOCKED', lockedMessage(dataDir, current));
    }
    removeStale(path, current);
  }
  const release = () => {
    if (!held.delete(path)) return;
    if (readInfo(path)?.pid === process.pid) unlinkSync(path);
  };
  held.set(path, release);
  return {
    setHttpUrl(httpUrl) {
      info = { ...info, httpUrl };
      const next = `${path}.${process.pid}`;
      writeFileSync(next, JSON.stringify(info), { mode: 0o600 });
      renameSync(next, path);
    },
    release,
  };
}
