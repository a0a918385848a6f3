import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/runtime/config.js';
import { SETTINGS, flagOf, type SettingKey } from '../../src/runtime/settings.js';

function problemsOf(env: NodeJS.ProcessEnv, flags: Partial<Record<SettingKey, string>> = {}): readonly string[] {
  try {
    loadConfig(env, flags);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('runs on its embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.kafkaBrokers).toBeUndefined();
    expect(config).toMatchObject({
      dataDir: './.pkgstream',
      topicPrefix: 'pkgstream',
      kubernetes: 'none',
      httpPort: 9464,
      pollInterval: 60,
      shutdownGrace: 25,
      dryRun: false,
      pipelines: ['releases', 'update', 'dispatch'],
      solvers: ['solver-default'],
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the environment and lets flags win', () => {
    const config = loadConfig(
      { KAFKA_BROKERS: 'a:9092, b:9093', PKGSTREAM_SOLVERS: 'solver-fedora-38-py311,solver-ubi-9-py312', PKGSTREAM_DRY_RUN: 'yes', PKGSTREAM_HTTP_PORT: '1000' },
      { httpPort: '2000', pipelines: 'update' },
    );
    expect(config.kafkaBrokers).toEqual(['a:9092', 'b:9093']);
    expect(config.solvers).toEqual(['solver-fedora-38-py311', 'solver-ubi-9-py312']);
    expect(config.dryRun).toBe(true);
    expect(config.httpPort).toBe(2000);
    expect(config.pipelines).toEqual(['update']);
  });

  it('detects in-cluster Kubernetes and prefers an explicit kubeconfig', () => {
    expect(loadConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }).kubernetes).toBe('in-cluster');
    expect(loadConfig({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBECONFIG: '/k' }).kubernetes).toBe('kubeconfig');
  });

  // One wrong value per setting that has rules: each problem names the variable, the value and what is allowed.
  const badValues: [SettingKey, string, RegExp][] = [
    ['databaseUrl', 'mysql://x', /postgres/],
    ['dataDir', '', /./],
    ['kafkaBrokers', 'localhost', /host:port/],
    ['topicPrefix', 'a b', /letters/],
    ['namespace', 'Bad_NS', /DNS-1123/],
    ['solvers', 'Solver_One', /DNS-1123/],
    ['solverCapacity', '0', /at least 1/],
    ['solverCapacity', 'ten', /whole number/],
    ['httpPort', '70000', /at most 65535/],
    ['httpPort', '-1', /whole number/],
    ['pollInterval', '0', /greater than 0/],
    ['pollInterval', 'soon', /positive number/],
    ['rateLimit', 'fast', /positive number/],
    ['rateBurst', '1.5', /whole number/],
    ['concurrency', '100000', /at most 1000/],
    ['scanPageSize', '0', /at least 1/],
    ['recheckInterval', '-5', /positive number/],
    ['dryRun', 'maybe', /one of 1, 0, true/],
    ['releaseTriggers', 'numpy,<script>', /valid project name/],
    ['pipelines', 'releases,nightly', /releases, update, dispatch/],
    ['shutdownGrace', '99999', /at most 3600/],
    ['logLevel', 'loud', /one of fatal, error/],
  ];
  it.each(badValues)('rejects %s=%j naming it', (key, value, allowed) => {
    const env = { [SETTINGS[key].env]: value };
    const problems = value === '' ? problemsOf({}, { [key]: value }) : problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(SETTINGS[key].env);
    expect(problems[0]).toContain(JSON.stringify(value));
    expect(problems[0]).toMatch(allowed);
  });

  it('reports every problem at once, and names the flag when a flag was wrong', () => {
    const problems = problemsOf({ PKGSTREAM_HTTP_PORT: 'x', LOG_LEVEL: 'loud' }, { concurrency: '0' });
    expect(problems).toHaveLength(3);
    expect(problems.find((line) => line.includes('PKGSTREAM_CONCURRENCY'))).toContain(flagOf('concurrency'));
  });
});
