import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

// Structure a newcomer can rely on: domains import downward only, migrations are frozen (no live
// code), and the README's links lead to files in the repository.

const ROOT = resolve(__dirname, '..');
const filesUnder = (dir: string, pattern: RegExp): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path, pattern) : pattern.test(entry.name) ? [path] : [];
  });

/** Relative imports of a file, resolved to absolute paths without extension (TypeScript's own pre-parser). */
function importsOf(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((ref) => ref.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => resolve(dirname(file), name));
}

/** A domain is a first-level folder of src/ (files directly in src/ are the composition root). */
const domainOf = (path: string): string => {
  const parts = relative(join(ROOT, 'src'), path).split(sep);
  return parts.length === 1 ? '(root)' : parts[0];
};

/** Domain cycles of any length (Tarjan's strongly connected components with more than one domain). */
function domainCycles(edges: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) low.set(node, Math.min(low.get(node)!, index.get(next)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do component.push((member = stack.pop()!));
      while (member !== node);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return cycles;
}

describe('the codebase', () => {
  it('has no import cycles between domains of src/ (every domain imports only domains below it)', () => {
    const edges = new Map<string, Set<string>>();
    const witnesses: string[] = [];
    for (const file of filesUnder(join(ROOT, 'src'), /\.tsx?$/).filter((f) => !f.endsWith('.spec.ts'))) {
      const from = domainOf(file);
      for (const target of importsOf(file)) {
        const to = domainOf(target);
        if (to === from || relative(join(ROOT, 'src'), target).startsWith('..')) continue;
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from)!.add(to);
        witnesses.push(`${relative(ROOT, file)} → ${to}`);
      }
    }
    expect(edges.size).toBeGreaterThan(10);
    const cycles = domainCycles(edges);
    const explain = cycles.map((cycle) => ({
      cycle,
      imports: witnesses.filter((w) => cycle.some((d) => w.startsWith(`src/${d}/`)) && cycle.some((d) => w.endsWith(`→ ${d}`))),
    }));
    expect(explain).toEqual([]);
  });

  it('has no circular imports between files of the dashboard (ui/src)', () => {
    const ui = join(ROOT, 'ui', 'src');
    const withoutExtension = (file: string) => file.replace(/\.tsx?$/, '');
    const edges = new Map<string, Set<string>>();
    for (const file of filesUnder(ui, /\.tsx?$/))
      edges.set(relative(ui, withoutExtension(file)), new Set(importsOf(file).map((target) => relative(ui, target))));
    expect(edges.size).toBeGreaterThan(8);
    expect(domainCycles(edges)).toEqual([]);
  });

  it('has migrations that import no live code from src/ (a migration must not change when the code does)', () => {
    const offending = filesUnder(join(ROOT, 'migrations'), /\.ts$/).flatMap((file) =>
      importsOf(file)
        .filter((target) => !relative(join(ROOT, 'src'), target).startsWith('..'))
        .map((target) => `${relative(ROOT, file)} imports ${relative(ROOT, target)}`),
    );
    expect(offending).toEqual([]);
  });

  it('links from the README and docs/ to files that exist in the repository', () => {
    const broken: string[] = [];
    for (const doc of [join(ROOT, 'README.md'), join(ROOT, 'SECURITY.md'), ...filesUnder(join(ROOT, 'docs'), /\.md$/)]) {
      for (const [, target] of readFileSync(doc, 'utf8').matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = resolve(dirname(doc), decodeURIComponent(target.split('#')[0]));
        if (!path.startsWith(ROOT + sep) || !existsSync(path)) broken.push(`${relative(ROOT, doc)} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
