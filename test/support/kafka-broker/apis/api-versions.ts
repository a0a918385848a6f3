/** ApiVersions (key 18) v0–3: every API the broker implements, with its version range. */
import { ApiKey, ErrorCode, type ErrorCodeValue } from '../protocol.js';
import { arrayOf, f, schema, type Message } from '../schema.js';
import { api, type ApiSpec } from './api.js';

const response = schema(
  3,
  f('ErrorCode', 'int16'),
  f('ApiKeys', arrayOf([f('ApiKey', 'int16'), f('MinVersion', 'int16'), f('MaxVersion', 'int16')])),
  f('ThrottleTimeMs', 'int32', '1+'),
);

export function apiVersionsResponse(apis: readonly ApiSpec[], errorCode: ErrorCodeValue): Message {
  return {
    ErrorCode: errorCode,
    ApiKeys: apis.map((a) => ({ ApiKey: a.key, MinVersion: a.min, MaxVersion: a.max })),
    ThrottleTimeMs: 0,
  };
}

/** The list is filled in by the registry (apis/index.ts), which knows every API. */
export function apiVersionsApi(all: () => readonly ApiSpec[]): ApiSpec {
  return api({
    key: ApiKey.ApiVersions,
    min: 0,
    max: 3,
    request: schema(3, f('ClientSoftwareName', 'string', '3+'), f('ClientSoftwareVersion', 'string', '3+')),
    response,
    handle: () => apiVersionsResponse(all(), ErrorCode.NONE),
  });
}
