/**
 * What `/readyz` answers, computed here for the HTTP layer: ready (200) or not (503), with
 * a body that lists the start-up step, each dependency (database, Kafka, Kubernetes, each
 * index host) and each pipeline with its state, and why the service is not ready.
 *
 * The service is ready when start-up is done (database open and migrated, every started
 * pipeline running), no required dependency is down, no extra check fails and no
 * shutdown has begun. A dependency that is not required (an index host) shows as down in
 * the body and in `pkgstream_dependency_up` without making the service unready: see the
 * README's "Readiness" section for what each one means.
 */
import type { Gauge } from 'prom-client';
import { redactText } from './redact.js';
import { errorMessage } from '../domain/errors.js';

export type ReadinessCheck = () => Promise<string | null> | string | null;
export type PipelineState = 'starting' | 'running' | 'restarting' | 'stopped';

export interface DependencyStatus {
  readonly state: 'up' | 'down' | 'unknown';
  /** True when this dependency down makes the service not ready. */
  readonly required: boolean;
  readonly detail?: string;
  /** When the state last changed (ISO 8601). */
  readonly since: string;
}

export interface PipelineStatus {
  readonly state: PipelineState;
  readonly detail?: string;
  readonly note?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** The start-up step under way, or `done`. */
  readonly startup: string;
  readonly shuttingDown: boolean;
  readonly dependencies: Record<string, DependencyStatus>;
  readonly pipelines: Record<string, PipelineStatus>;
  /** Why the service is not ready, by item; empty when ready. */
  readonly failures: Record<string, string>;
}

export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly dependencies = new Map<string, DependencyStatus>();
  private readonly pipelines = new Map<string, PipelineStatus>();
  private readonly notes = new Map<string, () => string>();
  private startup = 'starting';
  private shuttingDown = false;

  /** @param dependencyUp the `pkgstream_dependency_up` gauge, kept equal to each dependency's state */
  constructor(private readonly dependencyUp?: Gauge<'dependency'>) {}

  /** The start-up step under way (shown in the body); `done` once everything started. */
  setStartup(step: string): void {
    this.startup = step;
  }

  startupDone(): void {
    this.startup = 'done';
  }

  /** Names a dependency before its first check: unknown, gauge 0, until it is seen up. */
  declareDependency(name: string, options: { required: boolean; detail?: string }): void {
    if (this.dependencies.has(name)) return;
    this.dependencies.set(name, { state: 'unknown', required: options.required, since: new Date().toISOString(), ...detailOf(options.detail) });
    this.dependencyUp?.set({ dependency: name }, 0);
  }

  /** The outcome of a check of `name` (declared or not: an index host added at run time is not required). */
  setDependency(name: string, up: boolean, detail?: string): void {
    const previous = this.dependencies.get(name);
    const state = up ? 'up' : 'down';
    const since = previous?.state === state ? previous.since : new Date().toISOString();
    this.dependencies.set(name, { state, required: previous?.required ?? false, since, ...detailOf(detail) });
    this.dependencyUp?.set({ dependency: name }, up ? 1 : 0);
  }

  dependencyState(name: string): DependencyStatus | undefined {
    return this.dependencies.get(name);
  }

  setPipeline(name: string, state: PipelineState, detail?: string): void {
    this.pipelines.set(name, { state, ...detailOf(detail) });
  }

  /** A line of information shown with a pipeline (e.g. its Kafka group membership); never makes it unready. */
  note(pipeline: string, describe: () => string): void {
    this.notes.set(pipeline, describe);
  }

  /** An extra check: it resolves to null when ready, or to why it is not. */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  unregister(name: string): void {
    this.checks.delete(name);
  }

  beginShutdown(): void {
    this.shuttingDown = true;
  }

  /** What is not ready, by name; empty when ready. */
  async notReady(): Promise<Record<string, string>> {
    return (await this.report()).failures;
  }

  async report(): Promise<ReadinessReport> {
    const failures: Record<string, string> = {};
    if (this.shuttingDown) failures.shutdown = 'shutting down';
    if (this.startup !== 'done') failures.startup = this.startup;
    for (const [name, dependency] of this.dependencies) {
      if (dependency.required && dependency.state !== 'up') failures[name] = dependency.detail ?? dependency.state;
    }
    const pipelines: Record<string, PipelineStatus> = {};
    for (const [name, pipeline] of this.pipelines) {
      const note = this.notes.get(name)?.();
      pipelines[name] = note === undefined ? pipeline : { ...pipeline, note };
      if (pipeline.state !== 'running') failures[`pipeline:${name}`] = pipeline.detail ?? pipeline.state;
    }
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          const problem = await check();
          if (problem !== null) failures[name] = problem;
        } catch (error) {
          failures[name] = errorMessage(error);
        }
      }),
    );
    for (const [name, reason] of Object.entries(failures)) failures[name] = redactText(reason);
    return {
      ready: Object.keys(failures).length === 0,
      startup: this.startup,
      shuttingDown: this.shuttingDown,
      dependencies: Object.fromEntries(this.dependencies),
      pipelines,
      failures,
    };
  }
}

function detailOf(detail: string | undefined): { detail?: string } {
  return detail === undefined ? {} : { detail: redactText(detail) };
}
