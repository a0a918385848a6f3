/** Every API the broker implements, by key; ApiVersions advertises exactly these. */
import type { ApiSpec } from './api.js';
import { apiVersionsApi } from './api-versions.js';
import { fetchApi } from './fetch.js';
import { deleteGroupsApi, describeGroupsApi, listGroupsApi } from './group-admin.js';
import { findCoordinatorApi, heartbeatApi, joinGroupApi, leaveGroupApi, syncGroupApi } from './group-membership.js';
import { offsetCommitApi, offsetFetchApi } from './group-offsets.js';
import { listOffsetsApi } from './list-offsets.js';
import { metadataApi } from './metadata.js';
import { produceApi } from './produce.js';
import { saslAuthenticateApi, saslHandshakeApi } from './sasl.js';
import { createTopicsApi, deleteTopicsApi, initProducerIdApi } from './topics.js';

const specs: ApiSpec[] = [
  produceApi,
  fetchApi,
  listOffsetsApi,
  metadataApi,
  offsetCommitApi,
  offsetFetchApi,
  findCoordinatorApi,
  joinGroupApi,
  heartbeatApi,
  leaveGroupApi,
  syncGroupApi,
  describeGroupsApi,
  listGroupsApi,
  saslHandshakeApi,
  createTopicsApi,
  deleteTopicsApi,
  initProducerIdApi,
  saslAuthenticateApi,
  deleteGroupsApi,
];
specs.push(apiVersionsApi(() => specs));
specs.sort((a, b) => a.key - b.key);

export const APIS: ReadonlyMap<number, ApiSpec> = new Map(specs.map((spec) => [spec.key, spec]));
