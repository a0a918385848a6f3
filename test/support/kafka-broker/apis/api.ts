/**
 * What every API module of the broker provides: its key, the version range it advertises
 * (Kafka 3.x's), the request and response schemas, and a handler from the decoded request
 * to the response object (null: no response, as for Produce with acks=0).
 */
import type { GroupCoordinator } from '../groups.js';
import type { LogStore } from '../log.js';
import type { OffsetStore } from '../offsets.js';
import type { SaslSession } from '../sasl.js';
import type { Message, MessageSchema } from '../schema.js';

export interface BrokerContext {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly logs: LogStore;
  readonly groups: GroupCoordinator;
  readonly offsets: OffsetStore;
  readonly defaultPartitions: number;
  readonly autoCreateTopics: boolean;
  /** Set when the broker stops, so that held requests give up. */
  readonly stopped: () => boolean;
}

/** One request on one connection. */
export interface RequestContext extends BrokerContext {
  readonly version: number;
  readonly clientId: string;
  /** Address of the client, for DescribeGroups. */
  readonly clientHost: string;
  readonly sasl: SaslSession;
  /** The broker's protocol log (silent unless asked for). */
  readonly log: (message: string) => void;
}

export interface ApiSpec {
  readonly key: number;
  readonly min: number;
  readonly max: number;
  readonly request: MessageSchema;
  readonly response: MessageSchema;
  handle(request: Message, ctx: RequestContext): Message | null | Promise<Message | null>;
}

export function api(spec: ApiSpec): ApiSpec {
  return spec;
}
