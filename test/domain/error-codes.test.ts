import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/error-codes.js';
import { BadInputError, errorCode, hasCode, PkgstreamError } from '../../src/domain/errors.js';
import { IndexError } from '../../src/sources/index-client/errors.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
const sources = sourceFiles(join(root, 'src'))
  .map((path) => ({ path: relative(root, path), text: readFileSync(path, 'utf8') }))
  .filter(({ path }) => path !== 'src/domain/error-codes.ts');
const catalogued = new Set<string>(ERROR_CODES.map((entry) => entry.code));

/** Error classes outside the catalogue: the HTTP API's answers and the client's copy of them carry the API's own lowercase codes. */
const API_ERROR_CLASSES = ['ApiError', 'ServiceError'];

function matches(pattern: RegExp): { path: string; code: string }[] {
  return sources.flatMap(({ path, text }) => [...text.matchAll(pattern)].map((match) => ({ path, code: match[1] ?? '' })));
}

describe('the error code catalogue', () => {
  it('lists each code once, in capitals', () => {
    const codes = ERROR_CODES.map((entry) => entry.code);
    expect(codes.length).toBeGreaterThan(60);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.filter((code) => !/^[A-Z][A-Z0-9_]+$/.test(code))).toEqual([]);
  });

  it('gives each code a one-line meaning and a retriable verdict', () => {
    for (const entry of ERROR_CODES) {
      expect(entry.meaning.trim().length, entry.code).toBeGreaterThan(10);
      expect(entry.meaning, entry.code).not.toMatch(/[\n|]/);
      expect([true, false, 'per-instance'], entry.code).toContain(entry.retriable);
    }
  });

  it('holds every literal code the source raises, counts or compares', () => {
    const used = [
      ...matches(/new (?:PkgstreamError|BadInputError|IndexError)\(\s*'([A-Z][A-Z0-9_]+)'/g),
      ...matches(/\bcode: '([A-Z][A-Z0-9_]+)'/g),
      ...matches(/\bhasCode\([^)]*?'([A-Z][A-Z0-9_]+)'/g),
      ...matches(/errorCode\([^)]*\) [!=]== '([A-Z][A-Z0-9_]+)'/g),
      ...matches(/\.attention\([^,]+, '([A-Z][A-Z0-9_]+)'/g),
      ...matches(/\bfailed\('([A-Z][A-Z0-9_]+)'/g),
    ];
    expect(used.length).toBeGreaterThan(60);
    expect(used.filter(({ code }) => !catalogued.has(code))).toEqual([]);
  });

  it('lists no code the source never uses', () => {
    const everything = sources.map(({ text }) => text).join('\n');
    expect([...catalogued].filter((code) => !everything.includes(`'${code}'`))).toEqual([]);
  });

  it('leaves a plain Error only where a comment says it is a programming error', () => {
    const unmarked = sources.flatMap(({ path, text }) => {
      const lines = text.split('\n');
      return lines.flatMap((line, i) =>
        /new (?:Error|RangeError|TypeError|SyntaxError)\(/.test(line) && !`${lines[i - 1] ?? ''}\n${line}`.includes('// programming error: ') ? [`${path}:${i + 1}`] : [],
      );
    });
    expect(unmarked).toEqual([]);
  });

  it('has no error class of its own outside PkgstreamError but the API answers', () => {
    const classes = matches(/class (\w+) extends Error\b/g).map(({ code }) => code);
    expect(classes.filter((name) => name !== 'PkgstreamError').sort()).toEqual([...API_ERROR_CLASSES].sort());
  });
});

describe('PkgstreamError', () => {
  it('takes retriable from the catalogue when the code decides it', () => {
    for (const entry of ERROR_CODES) {
      if (entry.retriable === 'per-instance') continue;
      const error = new PkgstreamError(entry.code, 'm');
      expect(error.retriable, entry.code).toBe(entry.retriable);
    }
  });

  it('takes retriable from the error for a per-instance code', () => {
    expect(new PkgstreamError('KAFKA_PRODUCE_FAILED', 'm', { retriable: true }).retriable).toBe(true);
    expect(new PkgstreamError('KAFKA_PRODUCE_FAILED', 'm', { retriable: false }).retriable).toBe(false);
  });

  it('keeps the subclasses to their areas and the catalogue verdicts', () => {
    expect(new IndexError('INDEX_HTTP_5XX', 'm', { url: 'https://x/' })).toMatchObject({ code: 'INDEX_HTTP_5XX', retriable: true });
    expect(new IndexError('INDEX_NOT_FOUND', 'm', { url: 'https://x/' }).retriable).toBe(false);
    expect(new BadInputError('BAD_VERSION', 'm')).toMatchObject({ code: 'BAD_VERSION', retriable: false });
  });
});

describe('errorCode and hasCode', () => {
  const foreign = Object.assign(new Error('reset'), { code: 'ECONNRESET' });

  it('errorCode passes a foreign code through and calls the rest UNKNOWN', () => {
    expect(errorCode(new PkgstreamError('JOB_QUOTA', 'm'))).toBe('JOB_QUOTA');
    expect(errorCode(Object.assign(new Error('conflict'), { code: '40001' }))).toBe('40001');
    expect(errorCode(foreign)).toBe('ECONNRESET');
    expect(errorCode(new Error('plain'))).toBe('UNKNOWN');
    expect(errorCode('a string')).toBe('UNKNOWN');
  });

  it('hasCode is true for any of the codes given', () => {
    const quota = new PkgstreamError('JOB_QUOTA', 'm');
    expect(hasCode(quota, 'JOB_QUOTA')).toBe(true);
    expect(hasCode(quota, 'JOB_RATE_LIMITED', 'JOB_QUOTA')).toBe(true);
    expect(hasCode(quota, 'JOB_RATE_LIMITED')).toBe(false);
    expect(hasCode(foreign, 'INDEX_CONNECTION')).toBe(false);
    expect(hasCode(new Error('plain'), 'UNKNOWN')).toBe(true);
  });
});
