/**
 * The embedded database's exclusive lock: one process at a time opens a data directory's
 * PGlite files (a second one would corrupt them or lose its writes). The lock is a file
 * `<dataDir>/pkgstream.lock` created atomically (O_EXCL) holding `{pid, startedAt,
 * httpUrl?}`; the lock of a process that is gone (kill -9) is taken over. `readDataDirLock`
 * tells a command which running service holds the directory (and, once `run` wrote it,
 * where its HTTP API listens).
 */
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PkgstreamError } from '../domain/errors.js';

export interface DataDirLockInfo {
  readonly pid: number;
  readonly startedAt: string;
  readonly httpUrl?: string;
}

export interface DataDirLock {
  readonly path: string;
  /** Records where this process's HTTP API listens (for commands run beside it). */
  setHttpUrl(httpUrl: string): void;
  release(): void;
}

export const LOCK_FILE = 'pkgstream.lock';

function lockPath(dataDir: string): string {
  return join(dataDir, LOCK_FILE);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's holder, or null when the directory is not locked by a live process. */
export function readDataDirLock(dataDir: string): DataDirLockInfo | null {
  let text: string;
  try {
    text = readFileSync(lockPath(dataDir), 'utf8');
  } catch {
    return null;
  }
  try {
    const info = JSON.parse(text) as DataDirLockInfo;
    return Number.isInteger(info.pid) && alive(info.pid) ? info : null;
  } catch {
    return null; // a torn write of a crashed process: nobody holds it
  }
}

function tryCreate(path: string, info: DataDirLockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, JSON.stringify(info));
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Takes the lock or throws `DATA_DIR_LOCKED` naming the holder's pid. */
export function acquireDataDirLock(dataDir: string, now: Date = new Date()): DataDirLock {
  const path = lockPath(dataDir);
  let info: DataDirLockInfo = { pid: process.pid, startedAt: now.toISOString() };
  for (let attempt = 0; !tryCreate(path, info); attempt += 1) {
    const holder = readDataDirLock(dataDir);
    if (holder !== null || attempt >= 3) {
      const who = holder ? `pkgstream pid ${holder.pid} (since ${holder.startedAt})` : 'another process';
      throw new PkgstreamError('DATA_DIR_LOCKED', `the data directory ${dataDir} is in use by ${who}; stop it first, or use its HTTP API`);
    }
    // The holder is gone: move its stale lock aside (atomic, so only one taker removes it).
    const stale = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, stale);
      unlinkSync(stale);
    } catch {
      // another process took it over first: read again
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as DataDirLockInfo).pid === process.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.on('exit', release);
  return {
    path,
    setHttpUrl(httpUrl) {
      info = { ...info, httpUrl };
      const next = `${path}.${process.pid}`;
      writeFileSync(next, JSON.stringify(info), { mode: 0o600 });
      renameSync(next, path);
    },
    release,
  };
}
