// The Grafana dashboard in deploy/grafana/ against the proxy it watches: every metric its queries name is a family
// a running proxy exports (read from the `# TYPE` lines of a real scrape of the admin listener), every label they
// match on or aggregate by is one that family really has, and the dashboard is well formed enough to import.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { SECRETS } from '../fixtures/secrets.js';
import { withPcr } from '../helpers/fixtures.js';
import { statusOf } from '../helpers/http.js';
import { testProxyForSuite } from '../helpers/lifecycle.js';
import { login } from '../helpers/oauth.js';
import { pcrLoginRequest } from '../helpers/pcr.js';

const DASHBOARD_FILE = new URL('../../deploy/grafana/portcullis.json', import.meta.url);

/** Labels Prometheus attaches to every series of a scrape target; the proxy itself never sets them. */
const TARGET_LABELS: ReadonlySet<string> = new Set(['job', 'instance']);

/** Grafana's own variables, which a query may use without the dashboard defining them. */
const GRAFANA_BUILTIN_VARIABLE = /^__/;

const PROMQL_KEYWORDS: ReadonlySet<string> = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: GridPos;
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  datasource?: { type?: string; uid?: string };
}

interface Dashboard {
  schemaVersion: number;
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** One metric family as the running proxy exports it. */
interface Family {
  type: string;
  labels: ReadonlySet<string>;
}

/** A metric name as a query writes it, with the family it belongs to and the labels that series carries. */
interface SeriesName {
  family: string;
  labels: ReadonlySet<string>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
}

const panels = allPanels(dashboard.panels);
/** Rows only group panels: they have no query of their own. */
const queryPanels = panels.filter((panel) => panel.type !== 'row');
const exprs = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title ?? `#${panel.id}`, expr: target.expr ?? '' })));
/** The query variables' `label_values(series, label)`: the series selector is checked like a panel's query. */
const labelValues = dashboard.templating.list
  .filter((variable) => variable.type === 'query')
  .map((variable) => {
    const match = /^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(variable.definition ?? '');
    if (match === null) throw new Error(`variable ${variable.name}: expected label_values(series, label), got ${variable.definition}`);
    return { panel: `variable ${variable.name}`, expr: match[1]!, label: match[2]! };
  });
const variableQueries = labelValues.map(({ panel, expr }) => ({ panel, expr }));

/** The `# TYPE` lines of an exposition: every family, whether or not it has samples yet. */
function familyTypes(exposition: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of exposition.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/gm)) types.set(match[1]!, match[2]!);
  return types;
}

/** Label names on the samples of an exposition, by sample name. */
function sampleLabels(exposition: string): Map<string, Set<string>> {
  const labels = new Map<string, Set<string>>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (match === null) throw new Error(`unparseable exposition line: ${line}`);
    const names = labels.get(match[1]!) ?? new Set<string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) names.add(pair[1]!);
    labels.set(match[1]!, names);
  }
  return labels;
}

/** The label names a metric was defined with, read from the registry the proxy's /metrics serves. */
function definedLabels(metrics: Metrics, name: string): string[] {
  const metric: unknown = metrics.registry.getSingleMetric(name);
  if (metric === undefined || metric === null || typeof metric !== 'object') throw new Error(`${name} is not in the registry`);
  const labelNames = (metric as { labelNames?: unknown }).labelNames;
  if (labelNames === undefined) return [];
  if (!Array.isArray(labelNames) || !labelNames.every((label): label is string => typeof label === 'string')) throw new Error(`${name}: unreadable label names`);
  return labelNames;
}

/** Resolves a name as written in a query (a histogram's `_bucket`, `_sum`, `_count` series too) to its family. */
function seriesName(name: string, families: ReadonlyMap<string, Family>): SeriesName | null {
  const family = families.get(name);
  if (family !== undefined) return { family: name, labels: family.labels };
  const suffix = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffix === null) return null;
  const base = families.get(suffix[1]!);
  if (base === undefined || (base.type !== 'histogram' && base.type !== 'summary')) return null;
  if (suffix[2] === 'bucket' && base.type === 'histogram') return { family: suffix[1]!, labels: new Set([...base.labels, 'le']) };
  return { family: suffix[1]!, labels: base.labels };
}

/** The balanced parenthesised group starting at `open` (which must be a '('), without its parentheses. */
function groupAt(text: string, open: number): { inner: string; end: number } {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return { inner: text.slice(open + 1, i), end: i };
  }
  throw new Error(`unbalanced parentheses in ${text}`);
}

/** The balanced group that ends just before `close` (which must be a ')'), without its parentheses. */
function groupBefore(text: string, close: number): string {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (text[i] === ')') depth++;
    else if (text[i] === '(' && --depth === 0) return text.slice(i + 1, close);
  }
  throw new Error(`unbalanced parentheses in ${text}`);
}

interface Selector {
  metric: string;
  matchers: string[];
}

/** Every metric a PromQL expression reads, with the label names its matchers use. */
function selectors(expr: string): Selector[] {
  // Range selectors and durations hold no names; string literals only appear inside matchers.
  const withoutRanges = expr.replace(/\[[^\]]*\]/g, '');
  const found: Selector[] = [];
  const withoutMatchers = withoutRanges.replace(/([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}/g, (_all, metric: string | undefined, body: string) => {
    const matchers = [...body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"/g)].map((m) => m[1]!);
    if (metric === undefined) throw new Error(`a selector without a metric name in ${expr}`);
    found.push({ metric, matchers });
    return ' ';
  });
  const withoutClauses = withoutMatchers.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  for (const match of withoutClauses.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(\s*\()?/g)) {
    const name = match[1]!;
    if (match[2] !== undefined || PROMQL_KEYWORDS.has(name.toLowerCase())) continue; // a function or aggregation
    found.push({ metric: name, matchers: [] });
  }
  return found;
}

/** Every `by (...)` clause with the part of the expression it aggregates. */
function groupings(expr: string): { labels: string[]; argument: string }[] {
  const found: { labels: string[]; argument: string }[] = [];
  for (const match of expr.matchAll(/\bby\s*\(([^)]*)\)/g)) {
    const labels = match[1]!.split(',').map((label) => label.trim()).filter((label) => label !== '');
    const after = match.index + match[0].length;
    const next = /^\s*\(/.exec(expr.slice(after));
    // `sum by (x) (...)` aggregates the group after the clause, `sum(...) by (x)` the one before it.
    const argument = next !== null ? groupAt(expr, after + next[0].length - 1).inner : groupBefore(expr, expr.lastIndexOf(')', match.index));
    found.push({ labels, argument });
  }
  return found;
}

describe('the Grafana dashboard is well formed', () => {
  it('is a Grafana 10 dashboard model with a title and a uid', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.title).not.toBe('');
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(queryPanels.length).toBeGreaterThan(10);
  });

  it('gives every panel a unique id and a place on the grid that no other panel takes', () => {
    const ids = panels.map((panel) => panel.id);
    for (const id of ids) expect(Number.isInteger(id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Map<string, string>();
    for (const panel of panels) {
      const pos = panel.gridPos;
      expect(pos, `${panel.title} has no gridPos`).toBeDefined();
      const { h, w, x, y } = pos!;
      for (const n of [h, w, x, y]) expect(Number.isInteger(n) && n >= 0).toBe(true);
      expect(h).toBeGreaterThan(0);
      expect(w).toBeGreaterThan(0);
      expect(x + w, `${panel.title} is wider than the grid`).toBeLessThanOrEqual(24);
      for (let row = y; row < y + h; row++) {
        for (let column = x; column < x + w; column++) {
          const other = taken.get(`${row},${column}`);
          expect(other, `${panel.title} overlaps ${other}`).toBeUndefined();
          taken.set(`${row},${column}`, panel.title ?? String(panel.id));
        }
      }
    }
  });

  it('queries the templated Prometheus data source from every panel and target', () => {
    const datasource = dashboard.templating.list.find((variable) => variable.type === 'datasource');
    expect(datasource).toMatchObject({ query: 'prometheus' });
    const reference = { type: 'prometheus', uid: `\${${datasource!.name}}` };
    for (const panel of queryPanels) {
      expect(panel.datasource, panel.title).toEqual(reference);
      expect(panel.targets?.length ?? 0, `${panel.title} has no target`).toBeGreaterThan(0);
      const refIds = panel.targets!.map((target) => target.refId);
      expect(new Set(refIds).size, `${panel.title} repeats a refId`).toBe(refIds.length);
      for (const target of panel.targets!) {
        expect(target.datasource, panel.title).toEqual(reference);
        expect(target.expr?.trim(), `${panel.title} has an empty query`).not.toBe('');
      }
    }
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) expect(variable.datasource).toEqual(reference);
  });

  it('has job and instance variables, and uses no variable it does not define', () => {
    const names = new Set(dashboard.templating.list.map((variable) => variable.name));
    expect(names).toContain('job');
    expect(names).toContain('instance');
    for (const { panel, expr } of [...exprs, ...variableQueries]) {
      for (const match of expr.matchAll(/\$\{?(\w+)/g)) {
        const name = match[1]!;
        if (!GRAFANA_BUILTIN_VARIABLE.test(name)) expect(names.has(name), `${panel}: $${name} is not defined`).toBe(true);
      }
    }
  });

  it('reads every expression the way the checks below do', () => {
    // The parsing must find a metric in every query, or the checks of the families would pass on nothing.
    for (const { panel, expr } of [...exprs, ...variableQueries]) expect(selectors(expr).length, panel).toBeGreaterThan(0);
    const sample = selectors('histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{job=~"$job", x!="y"}[$__rate_interval]))) / b');
    expect(sample).toEqual([
      { metric: 'a_bucket', matchers: ['job', 'x'] },
      { metric: 'b', matchers: [] },
    ]);
    expect(groupings('sum by (le, route) (rate(a[5m])) / sum(b) by (kind)')).toEqual([
      { labels: ['le', 'route'], argument: 'rate(a[5m])' },
      { labels: ['kind'], argument: 'b' },
    ]);
  });
});

describe('the Grafana dashboard against the metrics a running proxy exports', () => {
  const metrics = new Metrics();
  const t = testProxyForSuite({ ...withPcr(), hooks: metrics.hooks() });
  let families = new Map<string, Family>();

  it('scrapes the proxy after some traffic, and reads every family with its labels', async () => {
    const granted = await login(t.url);
    expect(granted.status).toBe(200);
    const bearer = { authorization: `Bearer ${granted.body['access_token'] as string}` };
    expect(await statusOf(t, '/api/tickets', { headers: bearer })).toBe(200);
    expect(await statusOf(t, '/api/tickets')).toBe(401);
    expect(await statusOf(t, '/')).toBe(200);
    expect((await pcrLoginRequest(t.url, SECRETS.rwKey, 'api-user')).status).toBe(200);

    const response = await fetch(`${t.proxy.adminUrl}/metrics`);
    expect(response.status).toBe(200);
    const exposition = await response.text();
    const types = familyTypes(exposition);
    const seen = sampleLabels(exposition);
    for (const [name, type] of types) {
      families.set(name, { type, labels: new Set(definedLabels(metrics, name)) });
    }
    // The definitions must be what the scrape shows: every label on a sample is one its family was defined with.
    for (const [sample, names] of seen) {
      const series = seriesName(sample, families);
      expect(series, `${sample} belongs to no family of a # TYPE line`).not.toBeNull();
      for (const label of names) if (label !== 'quantile') expect(series!.labels, `${sample} has label ${label}`).toContain(label);
    }
    expect(families.get('portcullis_requests_total')?.labels).toEqual(new Set(['route', 'method', 'outcome']));
    expect(families.get('portcullis_auth_duration_seconds')?.type).toBe('histogram');
  });

  it('names only metric families the proxy exports', () => {
    expect(families.size).toBeGreaterThan(0);
    const used = new Set<string>();
    for (const { panel, expr } of [...exprs, ...variableQueries]) {
      for (const { metric } of selectors(expr)) {
        const series = seriesName(metric, families);
        expect(series, `${panel}: ${metric} is not exported by the proxy`).not.toBeNull();
        used.add(series!.family);
      }
    }
    // Every family of the proxy's own has a panel.
    const own = [...families.keys()].filter((name) => name.startsWith('portcullis_'));
    expect(own.filter((name) => !used.has(name))).toEqual([]);
  });

  it('matches only on labels the metric has, or that Prometheus adds to every target', () => {
    for (const { panel, expr } of [...exprs, ...variableQueries]) {
      for (const { metric, matchers } of selectors(expr)) {
        const series = seriesName(metric, families)!;
        for (const label of matchers) expect(series.labels.has(label) || TARGET_LABELS.has(label), `${panel}: ${metric} has no label ${label}`).toBe(true);
      }
    }
  });

  it('aggregates by labels that every metric under the aggregation has', () => {
    let clauses = 0;
    for (const { panel, expr } of exprs) {
      for (const { labels, argument } of groupings(expr)) {
        clauses++;
        for (const { metric } of selectors(argument)) {
          const series = seriesName(metric, families)!;
          for (const label of labels) expect(series.labels.has(label) || TARGET_LABELS.has(label), `${panel}: by (${label}) over ${metric}`).toBe(true);
        }
      }
    }
    expect(clauses).toBeGreaterThan(10);
  });

  it('asks the variables for labels their metric has', () => {
    expect(labelValues.map(({ label }) => label)).toEqual(expect.arrayContaining(['job', 'instance']));
    for (const { panel, expr, label } of labelValues) {
      const found = selectors(expr);
      expect(found.length, panel).toBe(1);
      const series = seriesName(found[0]!.metric, families)!;
      expect(series.labels.has(label) || TARGET_LABELS.has(label), `${panel}: ${found[0]!.metric} has no label ${label}`).toBe(true);
    }
  });
});
