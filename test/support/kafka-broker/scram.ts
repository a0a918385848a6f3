/**
 * The server side of SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka runs it: credentials
 * stored as salt, iterations, StoredKey and ServerKey (never the password), a two-round
 * exchange, and the client's proof checked against StoredKey.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface ScramCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

/** Kafka's minimum iteration count. */
const ITERATIONS = 4096;

const digestOf = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512');
const hmac = (digest: string, key: Buffer, text: string) => createHmac(digest, key).update(text).digest();

export function scramCredential(mechanism: ScramMechanism, password: string): ScramCredential {
  const digest = digestOf(mechanism);
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, ITERATIONS, digest === 'sha256' ? 32 : 64, digest);
  const clientKey = hmac(digest, salted, 'Client Key');
  return {
    salt,
    iterations: ITERATIONS,
    storedKey: createHash(digest).update(clientKey).digest(),
    serverKey: hmac(digest, salted, 'Server Key'),
  };
}

/** `a=b,c=d` attributes of a SCRAM message (values may contain `=`). */
function attributes(message: string): Map<string, string> {
  return new Map(message.split(',').map((part) => [part.slice(0, 1), part.slice(2)] as const));
}

/** SCRAM's `saslname`: `=2C` is a comma, `=3D` an equals sign. */
const saslName = (name: string) => name.replace(/=2C/g, ',').replace(/=3D/g, '=');

export type ScramStep =
  | { readonly kind: 'challenge'; readonly bytes: Buffer }
  | { readonly kind: 'done'; readonly user: string; readonly bytes: Buffer }
  | { readonly kind: 'failed'; readonly reason: string };

/** One exchange: `first` takes client-first, `final` client-final. */
export class ScramExchange {
  private state: { user: string; credential: ScramCredential; nonce: string; clientFirstBare: string; serverFirst: string } | null = null;

  constructor(
    readonly mechanism: ScramMechanism,
    private readonly lookup: (user: string) => ScramCredential | undefined,
  ) {}

  step(bytes: Buffer): ScramStep {
    return this.state === null ? this.first(bytes.toString('utf8')) : this.final(bytes.toString('utf8'));
  }

  private first(message: string): ScramStep {
    // gs2 header: "n,," or "n,a=authzid,"; channel binding is not offered.
    const match = /^[ny],(?:a=[^,]*)?,(.*)$/.exec(message);
    if (!match) return { kind: 'failed', reason: 'malformed client-first message' };
    const clientFirstBare = match[1]!;
    const attrs = attributes(clientFirstBare);
    const user = saslName(attrs.get('n') ?? '');
    const clientNonce = attrs.get('r') ?? '';
    const credential = this.lookup(user);
    if (clientNonce === '') return { kind: 'failed', reason: 'client-first message without a nonce' };
    if (!credential) return { kind: 'failed', reason: 'invalid credentials' };
    const nonce = clientNonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = { user, credential, nonce, clientFirstBare, serverFirst };
    return { kind: 'challenge', bytes: Buffer.from(serverFirst) };
  }

  private final(message: string): ScramStep {
    const state = this.state!;
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) return { kind: 'failed', reason: 'client-final message without a proof' };
    const withoutProof = message.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    // Kafka's ScramSaslServer only checks that the nonce ends with the server's (librdkafka
    // 2.0 sends the client nonce twice).
    if (!(attrs.get('r') ?? '').endsWith(state.nonce)) return { kind: 'failed', reason: 'nonce mismatch' };
    const digest = digestOf(this.mechanism);
    const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
    const signature = hmac(digest, state.credential.storedKey, authMessage);
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    if (proof.length !== signature.length) return { kind: 'failed', reason: 'invalid credentials' };
    const clientKey = Buffer.from(proof.map((byte, i) => byte ^ signature[i]!));
    const storedKey = createHash(digest).update(clientKey).digest();
    if (!timingSafeEqual(storedKey, state.credential.storedKey)) return { kind: 'failed', reason: 'invalid credentials' };
    const serverSignature = hmac(digest, state.credential.serverKey, authMessage).toString('base64');
    return { kind: 'done', user: state.user, bytes: Buffer.from(`v=${serverSignature}`) };
  }
}
