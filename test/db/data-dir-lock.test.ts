import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDataDirLock, readDataDirLock } from '../../src/db/data-dir-lock.js';

const freshDir = () => mkdtempSync(join(tmpdir(), 'pkgstream-lock-unit-'));

describe('data directory lock file', () => {
  it('holds pid, start time and the API URL; a second take in the same process is refused; release lets go', () => {
    const dataDir = freshDir();
    const lock = acquireDataDirLock(dataDir);
    lock.setHttpUrl('http://127.0.0.1:1234');
    const info = JSON.parse(readFileSync(join(dataDir, 'pkgstream.lock'), 'utf8')) as { pid: number; startedAt: string; httpUrl: string };
    expect([info.pid, info.httpUrl, Object.keys(info).length]).toEqual([process.pid, 'http://127.0.0.1:1234', 3]);
    expect(Date.parse(info.startedAt)).not.toBeNaN();
    expect(() => acquireDataDirLock(dataDir)).toThrow(`the data directory ${dataDir} is in use by pkgstream pid ${process.pid}`);
    lock.release();
    expect(readDataDirLock(dataDir)).toBeNull();
    acquireDataDirLock(dataDir).release();
  });

  it('takes over a lock naming our own pid that this process does not hold (a restarted container), and one of garbage', () => {
    for (const text of [JSON.stringify({ pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z' }), '{"pi']) {
      const dataDir = freshDir();
      writeFileSync(join(dataDir, 'pkgstream.lock'), text);
      expect(readDataDirLock(dataDir)).toBeNull();
      const lock = acquireDataDirLock(dataDir);
      expect(readDataDirLock(dataDir)).toMatchObject({ pid: process.pid });
      lock.release();
    }
  });

  it('never takes over a lock it cannot read (another user\'s, or here a folder in its place): refused naming the file', () => {
    const dataDir = freshDir();
    const path = join(dataDir, 'pkgstream.lock');
    mkdirSync(path);
    expect(() => acquireDataDirLock(dataDir)).toThrow(`the data directory lock ${path} cannot be read`);
    expect(existsSync(path)).toBe(true);
  });
});
