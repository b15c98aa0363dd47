/**
 * Routing rules (config `routing.rules`): the first rule whose `match` fits a submission chooses its inbox
 * and may raise its urgency. Matching uses the flow, its kind, the urgency and the answers the flow marks
 * with `routing:`; none of these leave the process in clear except the chosen inbox and urgency.
 */
import type { RoutingRule, Urgency } from '../config/index.js';
import { maxUrgency } from '../engine/index.js';

export interface RoutingInput {
  flowId: string;
  kind: 'professional' | 'youth';
  urgency: Urgency;
  /** Answers exposed by the flow's `routing:` marks, by routing name. */
  attributes: Record<string, unknown>;
}

export interface RoutingDecision {
  inbox: string;
  urgency: Urgency;
  /** Index of the rule that matched (for tests and debugging; not content). */
  rule: number;
}

function matches(rule: RoutingRule, input: RoutingInput): boolean {
  const m = rule.match;
  if (!m) return true;
  if (m.kind && !m.kind.includes(input.kind)) return false;
  if (m.flow && !m.flow.includes(input.flowId)) return false;
  if (m.urgency && !m.urgency.includes(input.urgency)) return false;
  for (const [name, accepted] of Object.entries(m.answers ?? {})) {
    const value = input.attributes[name];
    const values = Array.isArray(value) ? value : [value];
    const norm = (v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v);
    if (!values.some((v) => accepted.some((a) => norm(a) === norm(v)))) return false;
  }
  return true;
}

/** Chooses the inbox; undefined when no rule matches (a configuration error the caller reports). */
export function route(rules: readonly RoutingRule[], input: RoutingInput): RoutingDecision | undefined {
  for (const [i, rule] of rules.entries()) {
    if (matches(rule, input)) {
      return {
        inbox: rule.inbox,
        urgency: rule.urgency ? maxUrgency(input.urgency, rule.urgency) : input.urgency,
        rule: i,
      };
    }
  }
  return undefined;
}
