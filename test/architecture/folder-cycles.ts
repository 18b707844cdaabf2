// Cycles between folders of src/, which dependency-cruiser has no rule for: files can avoid a cycle between
// themselves while their folders still depend on each other both ways, and then neither folder can be understood,
// moved or replaced without the other.

import type { ICruiseResult } from 'dependency-cruiser';

/** From folder to folder, with one import that makes the edge, as `from-file -> to-file`. */
export type FolderGraph = Map<string, Map<string, string>>;

/**
 * The node a file of src/ belongs to: its first folder under src/, except that each face (`src/faces/<face>`) is
 * a node of its own; a file directly in src/ is a node by itself. Null for files outside src/.
 */
export function folderOf(path: string): string | null {
  const parts = path.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return null;
  if (parts.length === 2) return path;
  if (parts[1] === 'faces' && parts.length > 3) return parts.slice(0, 3).join('/');
  return parts.slice(0, 2).join('/');
}

export function folderGraph(result: ICruiseResult): FolderGraph {
  const graph: FolderGraph = new Map();
  const modules = [...result.modules].sort((a, b) => a.source.localeCompare(b.source));
  for (const module of modules) {
    const from = folderOf(module.source);
    if (from === null) continue;
    const dependencies = [...module.dependencies].sort((a, b) => a.resolved.localeCompare(b.resolved));
    for (const dependency of dependencies) {
      const to = folderOf(dependency.resolved);
      if (to === null || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${module.source} -> ${dependency.resolved}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/**
 * Every elementary cycle of the graph, each as its folders in order starting from its alphabetically first one,
 * so the same cycle is reported once and in the same words every time.
 */
export function folderCycles(graph: FolderGraph): string[][] {
  const cycles: string[][] = [];
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((edges) => [...edges.keys()])])].sort();
  for (const start of nodes) {
    // Only nodes after `start` may follow it, so each cycle is found from its first node and nowhere else.
    const walk = (node: string, path: string[]): void => {
      for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
        if (next === start) cycles.push([...path]);
        else if (next > start && !path.includes(next)) walk(next, [...path, next]);
      }
    };
    walk(start, [start]);
  }
  return cycles;
}

/** A cycle as `a -> b -> a`, then one import per edge that makes it. */
export function describeFolderCycle(cycle: string[], graph: FolderGraph): string {
  const edges = cycle.map((from, index) => {
    const to = cycle[(index + 1) % cycle.length]!;
    return `  ${from} -> ${to}: ${graph.get(from)?.get(to) ?? '?'}`;
  });
  return [`${[...cycle, cycle[0]].join(' -> ')}`, ...edges].join('\n');
}
