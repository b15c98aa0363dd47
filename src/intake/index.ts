/**
 * The intake pipeline, assembled: keyring from the master key(s), the flow registry, and the service that
 * runs turns and seals reports. Used by the server (channels) and the CLI (`intake chat`).
 */
import type { Logger } from 'pino';
import type { AppConfig } from '../config/index.js';
import { FlowRegistry } from '../flows/index.js';
import type { Metrics } from '../metrics.js';
import type { Database } from '../store/index.js';
import { type Keyring, loadKeyring } from './keyring.js';
import type { RedisEval } from './limiter.js';
import { IntakeService, type ReceiptLimits } from './service.js';

export {
  type BackfillResult,
  backfillIntegrity,
  keysAreTrusted,
  keysMac,
  memberIsTrusted,
  memberMac,
  replyIsAuthentic,
  trustedSigningKey,
} from './integrity.js';
export { type Keyring, loadKeyring } from './keyring.js';
export { type AttemptLimiter, localLimiter } from './limiter.js';
export { inboxReadiness, UNCLOSED_WARNING_DAYS, unclosedReportsWarning } from './readiness.js';
export { type RoutingDecision, type RoutingInput, route } from './routing.js';
export {
  type AcceptFollowUpResult,
  type AcceptSealedResult,
  type BrowserFollowUp,
  type BrowserSealedReport,
  type ChannelData,
  type FollowUpTarget,
  type InboundTurn,
  type InboxRecipient,
  IntakeService,
  type MessageId,
  newReference,
  REFERENCE_PATTERN,
  type ReceiptLimits,
  recipientsTag,
  type SubmitterNotifier,
  type TurnOutcome,
} from './service.js';

export interface Intake {
  service: IntakeService;
  flows: FlowRegistry;
  keyring: Keyring;
}

/** Builds the pipeline. Throws FlowError when a flow file is invalid (the start stops with the diagnostics). */
export async function createIntake(options: {
  config: AppConfig;
  db: Database;
  masterKey: string;
  logger: Logger;
  metrics?: Metrics;
  flows?: FlowRegistry;
  /** Shares the `/suivi` limits between instances (REDIS_URL). */
  redis?: RedisEval;
  receiptLimits?: ReceiptLimits;
}): Promise<Intake> {
  const keyring = await loadKeyring(options.masterKey, options.config.masterKeyPrevious ?? []);
  const flows = options.flows ?? FlowRegistry.load({ defaultFlow: options.config.conversations.defaultFlow });
  const service = new IntakeService({
    db: options.db,
    keyring,
    flows,
    config: options.config,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.receiptLimits ? { receiptLimits: options.receiptLimits } : {}),
  });
  return { service, flows, keyring };
}
