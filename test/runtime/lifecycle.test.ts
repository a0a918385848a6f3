import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../src/runtime/lifecycle.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { Readiness } from '../../src/runtime/readiness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Lifecycle', () => {
  it('turns readiness off, drains, then closes in reverse order and resolves 0', async () => {
    const readiness = new Readiness();
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness, graceMs: 5_000 });
    const steps: string[] = [];
    lifecycle.onClose('database', async () => void steps.push('close database'));
    lifecycle.onClose('producer', async () => void steps.push('close producer'));
    lifecycle.onDrain('pipeline', async () => {
      expect(await readiness.notReady()).toEqual({ shutdown: 'shutting down', startup: 'starting' });
      await sleep(20);
      steps.push('drained');
    });
    await lifecycle.stop('test');
    expect(steps).toEqual(['drained', 'close producer', 'close database']);
    expect(await lifecycle.done).toBe(0);
  });

  it('closes after the grace period when a drain does not finish', async () => {
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness: new Readiness(), graceMs: 50 });
    let closed = false;
    lifecycle.onDrain('stuck', () => new Promise<void>(() => undefined));
    lifecycle.onClose('database', async () => void (closed = true));
    const started = performance.now();
    await lifecycle.stop('test');
    expect(closed).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(await lifecycle.done).toBe(0);
  });

  it('runs the stop once however often it is asked, and survives a failing step', async () => {
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness: new Readiness(), graceMs: 1_000 });
    let closes = 0;
    lifecycle.onClose('flaky', () => Promise.reject(new Error('boom')));
    lifecycle.onClose('counted', async () => void closes++);
    await Promise.all([lifecycle.stop('a'), lifecycle.stop('b')]);
    expect(closes).toBe(1);
  });

  it('stops when the shutdown signal aborts, also when it aborted before watch() (a SIGTERM during start-up)', async () => {
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness: new Readiness(), graceMs: 1_000 });
    const controller = new AbortController();
    controller.abort('SIGTERM');
    lifecycle.watch(controller.signal, new EventEmitter() as unknown as NodeJS.Process);
    expect(lifecycle.stopping).toBe(true);
    expect(await lifecycle.done).toBe(0);
  });

  it('bounds the closers too: a close that hangs does not hold the exit past grace + close budget', async () => {
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness: new Readiness(), graceMs: 50, closeBudgetMs: 100 });
    lifecycle.onDrain('stuck', () => new Promise<void>(() => undefined));
    lifecycle.onClose('hung client', () => new Promise<void>(() => undefined));
    const started = performance.now();
    await lifecycle.stop('test');
    expect(await lifecycle.done).toBe(0);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('resolves 1 on an uncaught error', async () => {
    const fakeProcess = new EventEmitter();
    const lifecycle = new Lifecycle({ logger: silentLogger(), readiness: new Readiness(), graceMs: 1_000 });
    lifecycle.watch(new AbortController().signal, fakeProcess as unknown as NodeJS.Process);
    fakeProcess.emit('uncaughtException', new Error('bug'));
    expect(await lifecycle.done).toBe(1);
  });
});
