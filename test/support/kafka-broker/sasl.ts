/**
 * SASL on one connection, as a Kafka listener with `SASL_PLAINTEXT` (or `SASL_SSL`) runs it:
 * SaslHandshake picks a mechanism (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), then the tokens
 * arrive in SaslAuthenticate requests (handshake v1) or as bare frames (handshake v0).
 * Until authentication succeeds only ApiVersions and the SASL requests are served.
 */
import { timingSafeEqual } from 'node:crypto';
import { ScramExchange, scramCredential, type ScramCredential, type ScramMechanism } from './scram.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** The users a broker accepts, with credentials for every mechanism, made once at start. */
export class SaslUsers {
  private readonly passwords = new Map<string, Buffer>();
  private readonly scram = new Map<string, ScramCredential>();

  constructor(users: Readonly<Record<string, string>>) {
    for (const [name, password] of Object.entries(users)) {
      this.passwords.set(name, Buffer.from(password));
      for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
        this.scram.set(`${mechanism}\0${name}`, scramCredential(mechanism, password));
      }
    }
  }

  checkPassword(name: string, password: string): boolean {
    const expected = this.passwords.get(name);
    const given = Buffer.from(password);
    return expected !== undefined && expected.length === given.length && timingSafeEqual(expected, given);
  }

  scramCredential(mechanism: ScramMechanism, name: string): ScramCredential | undefined {
    return this.scram.get(`${mechanism}\0${name}`);
  }
}

export type AuthStep =
  | { readonly kind: 'continue'; readonly bytes: Buffer }
  | { readonly kind: 'done'; readonly bytes: Buffer }
  | { readonly kind: 'failed'; readonly message: string; readonly reason: string };

export class SaslSession {
  mechanism: SaslMechanism | null = null;
  /** Handshake v0: the tokens come as bare frames, not in SaslAuthenticate requests. */
  bareTokens = false;
  user: string | null = null;
  private scram: ScramExchange | null = null;

  constructor(private readonly users: SaslUsers | null) {}

  /** Whether this connection may send requests other than ApiVersions and SASL. */
  get open(): boolean {
    return this.users === null || this.user !== null;
  }

  handshake(mechanism: string, version: number): boolean {
    if (this.users === null || !(SASL_MECHANISMS as readonly string[]).includes(mechanism)) return false;
    this.mechanism = mechanism as SaslMechanism;
    this.bareTokens = version === 0;
    if (this.mechanism !== 'PLAIN') {
      const users = this.users;
      const scram = this.mechanism;
      this.scram = new ScramExchange(scram, (name) => users.scramCredential(scram, name));
    }
    return true;
  }

  authenticate(token: Buffer): AuthStep {
    const failed = (reason = 'invalid credentials'): AuthStep => ({
      kind: 'failed',
      reason,
      message: `Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism ?? 'none'}`,
    });
    if (this.users === null || this.mechanism === null || this.user !== null) return failed();
    if (this.mechanism === 'PLAIN') {
      // authzid NUL authcid NUL passwd
      const [authzid, name, password] = token.toString('utf8').split('\0');
      if (name === undefined || password === undefined || (authzid !== '' && authzid !== name)) return failed();
      if (!this.users.checkPassword(name, password)) return failed();
      this.user = name;
      return { kind: 'done', bytes: Buffer.alloc(0) };
    }
    const step = this.scram!.step(token);
    if (step.kind === 'failed') return failed(step.reason);
    if (step.kind === 'challenge') return { kind: 'continue', bytes: step.bytes };
    this.user = step.user;
    return { kind: 'done', bytes: step.bytes };
  }
}
