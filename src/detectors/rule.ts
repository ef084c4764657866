/**
 * Rule metadata, held as data beside each detection (as Elastic's detection-rules TOML holds it).
 */

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** ATT&CK mapping, one entry per tactic, as in detection-rules' `[[rule.threat]]` blocks. */
export interface ThreatMapping {
  readonly tactic: { readonly id: string; readonly name: string };
  readonly techniques: readonly {
    readonly id: string;
    readonly name: string;
    readonly subtechniques?: readonly { readonly id: string; readonly name: string }[];
  }[];
}

export interface RuleMeta {
  /** `rule.id`: Elastic's rule_id, or the CAR analytic id. */
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  /** `event.risk_score`, 0–100, as the source rule sets it. */
  readonly riskScore: number;
  /** `rule.version`: the source rule's version this port follows. */
  readonly version: string;
  readonly author: readonly string[];
  readonly license: string;
  /** First entry is `rule.reference`; all go to `picket.rule.references`. */
  readonly references: readonly string[];
  readonly threat: readonly ThreatMapping[];
}

/** `event.severity` numbers of Elastic's "External Alerts" rule mapping (21/47/73/99). */
export const SEVERITY_NUMBER: Readonly<Record<Severity, number>> = {
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};
