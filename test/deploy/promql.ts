/**
 * PromQL, parsed with Prometheus' own lezer grammar (@prometheus-io/lezer-promql, in deploy/tools).
 */
import { toolImport } from './deployTools.js';

let parserPromise: Promise<any> | undefined;

function promqlParser(): Promise<any> {
  parserPromise ??= toolImport('@prometheus-io/lezer-promql/dist/index.es.js').then((m) => m.parser);
  return parserPromise;
}

/** Grafana's variables replaced by values that make the query plain PromQL. */
export function substituteGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$__interval|\$__range/g, '5m')
    .replace(/\$\{(\w+)(:\w+)?\}/g, 'grafana_var_$1')
    .replace(/\$(\w+)/g, 'grafana_var_$1');
}

export interface ParsedQuery {
  /** Metric names of the vector selectors. */
  metrics: Set<string>;
  /** Parse errors (positions), and selectors the check cannot follow. */
  errors: string[];
}

export async function parsePromql(expr: string): Promise<ParsedQuery> {
  const parser = await promqlParser();
  const tree = parser.parse(expr);
  const metrics = new Set<string>();
  const errors: string[] = [];
  tree.iterate({
    enter(n: any) {
      if (n.type.isError) errors.push(`syntax error at ${n.from}: ${JSON.stringify(expr.slice(n.from, n.from + 30))}`);
      if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') metrics.add(expr.slice(n.from, n.to));
      if (n.name === 'LabelName' && expr.slice(n.from, n.to) === '__name__')
        errors.push('a __name__ matcher: name the metric instead, so that it can be checked');
    },
  });
  return { metrics, errors };
}

/** The queries of a Grafana dashboard: panel targets, and the selectors of label_values() variables. */
export function dashboardQueries(d: any): string[] {
  const exprs: string[] = d.panels.flatMap((p: any) => (p.targets ?? []).map((x: any) => x.expr as string));
  for (const v of d.templating.list) {
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    const m = v.type === 'query' ? /^label_values\((.*),\s*\w+\)$/.exec(q) : null;
    if (m) exprs.push(m[1]!);
  }
  return exprs;
}
