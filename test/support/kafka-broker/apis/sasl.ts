/** SaslHandshake (key 17) v0–1 and SaslAuthenticate (key 36) v0–2. */
import { SASL_MECHANISMS } from '../sasl.js';
import { ApiKey, ErrorCode } from '../protocol.js';
import { arrayOf, f, schema } from '../schema.js';
import { api } from './api.js';

export const saslHandshakeApi = api({
  key: ApiKey.SaslHandshake,
  min: 0,
  max: 1,
  request: schema(Infinity, f('Mechanism', 'string')),
  response: schema(Infinity, f('ErrorCode', 'int16'), f('Mechanisms', arrayOf('string'))),
  handle(raw, ctx) {
    const ok = ctx.sasl.handshake(raw.Mechanism as string, ctx.version);
    return { ErrorCode: ok ? ErrorCode.NONE : ErrorCode.UNSUPPORTED_SASL_MECHANISM, Mechanisms: [...SASL_MECHANISMS] };
  },
});

export const saslAuthenticateApi = api({
  key: ApiKey.SaslAuthenticate,
  min: 0,
  max: 2,
  request: schema(2, f('AuthBytes', 'bytes')),
  response: schema(2, f('ErrorCode', 'int16'), f('ErrorMessage', 'string'), f('AuthBytes', 'bytes'), f('SessionLifetimeMs', 'int64', '1+')),
  handle(raw, ctx) {
    if (ctx.sasl.mechanism === null || ctx.sasl.bareTokens) {
      return { ErrorCode: ErrorCode.ILLEGAL_SASL_STATE, ErrorMessage: 'SaslAuthenticate before a SaslHandshake v1', AuthBytes: Buffer.alloc(0), SessionLifetimeMs: 0n };
    }
    const step = ctx.sasl.authenticate((raw.AuthBytes as Buffer | null) ?? Buffer.alloc(0));
    if (step.kind === 'failed') {
      ctx.log(`SASL ${ctx.sasl.mechanism} for ${ctx.clientHost}: ${step.reason}`);
      return { ErrorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, ErrorMessage: step.message, AuthBytes: Buffer.alloc(0), SessionLifetimeMs: 0n };
    }
    return { ErrorCode: ErrorCode.NONE, ErrorMessage: null, AuthBytes: step.bytes, SessionLifetimeMs: 0n };
  },
});
