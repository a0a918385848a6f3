/**
 * The one typed, frozen configuration: environment variables, overridden by CLI flags,
 * each value checked against its setting. Every problem is reported at once, one line
 * each, naming the variable, the value and what is allowed.
 */
import { z } from 'zod';
import { PkgstreamError } from '../domain/errors.js';
import { readKafkaSecurity } from '../kafka/security.js';
import { redactText } from './redact.js';
import { SETTINGS, flagOf, type SettingKey } from './settings.js';

type Parsed<K extends SettingKey> = z.output<(typeof SETTINGS)[K]['schema']>;
type WithDefault = {
  [K in SettingKey]: (typeof SETTINGS)[K]['default'] extends string ? K : never;
}[SettingKey];

export type Config = Readonly<
  { [K in WithDefault]: Parsed<K> } & { [K in Exclude<SettingKey, WithDefault>]: Parsed<K> | undefined } & {
    /** How Kubernetes is reached: a kubeconfig file, the pod's service account, or not at all. */
    kubernetes: 'kubeconfig' | 'in-cluster' | 'none';
  }
>;

export class ConfigError extends PkgstreamError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n${problems.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * @param env the process environment
 * @param flags values given as CLI flags, keyed by setting (they win over the environment)
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: Partial<Record<SettingKey, string>> = {}): Config {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const setting = SETTINGS[key];
    const fromFlag = flags[key];
    const raw = fromFlag ?? (env[setting.env] === '' ? undefined : env[setting.env]) ?? setting.default;
    if (raw === undefined) continue;
    const result = setting.schema.safeParse(raw);
    if (result.success) {
      values[key] = result.data;
    } else {
      const source = fromFlag === undefined ? setting.env : `${flagOf(key)} (${setting.env})`;
      const reason = result.error.issues.map((issue) => issue.message).join('; ');
      // A value is echoed to say which one is wrong, never a credential or a URL's password.
      const shown = 'secret' in setting && setting.secret ? '(hidden)' : JSON.stringify(redactText(raw));
      problems.push(`${source}=${shown}: ${reason}`);
    }
  }
  if (problems.length === 0) problems.push(...readKafkaSecurity(values as { kafkaSsl: boolean }).problems);
  if (problems.length > 0) throw new ConfigError(problems);
  values.kubernetes = values.kubeconfig !== undefined ? 'kubeconfig' : env.KUBERNETES_SERVICE_HOST ? 'in-cluster' : 'none';
  return Object.freeze(values) as Config;
}
