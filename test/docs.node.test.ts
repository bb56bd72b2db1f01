// Every public export (of every entry point in package.json) has TSDoc with an @example.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const entries: Record<string, string> = {
  tidewater: 'src/index.ts',
  'tidewater/operators': 'operators/index.ts',
  'tidewater/testing': 'testing/index.ts',
  'tidewater/level': 'src/stores/level.ts',
  'tidewater/indexeddb': 'src/stores/indexedDb.ts',
  'tidewater/nats': 'src/nats/index.ts',
  'tidewater/dashboard': 'src/dashboard/index.ts',
};

function undocumented(entry: string): string[] {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(entry);
  if (sf === undefined) throw new Error(`no source file ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(sf);
  if (moduleSymbol === undefined) throw new Error(`no module symbol for ${entry}`);
  const missing: string[] = [];
  for (const exp of checker.getExportsOfModule(moduleSymbol)) {
    const sym = exp.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exp) : exp;
    const decls = sym.getDeclarations() ?? [];
    const hasExample = decls.some((d) => ts.getJSDocTags(d).some((t) => t.tagName.text === 'example'));
    if (!hasExample) missing.push(exp.getName());
  }
  return missing;
}

describe('public API documentation', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, unknown> };
  it('package.json exports exactly the documented entry points', () => {
    expect(Object.keys(pkg.exports).map((k) => (k === '.' ? 'tidewater' : `tidewater/${k.slice(2)}`)).sort()).toStrictEqual(Object.keys(entries).sort());
  });
  for (const [name, file] of Object.entries(entries)) {
    it(`every export of ${name} has TSDoc with an @example`, { timeout: 60_000 }, () => {
      expect(undocumented(file)).toStrictEqual([]);
    });
  }
});

/** The README's section under `## title`, up to the next `## ` heading ('' when there is none). */
function readmeSection(readme: string, title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  if (start < 0) return '';
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README and LICENSE', () => {
  const readme = readFileSync('README.md', 'utf8');
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
    license: string;
    engines: { node: string };
    peerDependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional?: boolean }>;
  };

  it('has an Install section before the concepts, with the install commands, every peer dependency and ESM-only', () => {
    const install = readmeSection(readme, 'Install');
    expect(readme.indexOf('\n## Install\n')).toBeLessThan(readme.indexOf('\n## Concepts\n'));
    expect(install).toContain('\nnpm install tidewater rxjs\n');
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      expect(install).toContain(`**${name}** (\`${range}\`)`);
      if (pkg.peerDependenciesMeta[name]?.optional === true) expect(install).toContain(`\nnpm install ${name} `);
    }
    expect(install).toContain(`**ESM only**, for Node ≥ ${pkg.engines.node.replace('>=', '')}`);
    expect(install).toContain("await import('tidewater/operators')");
  });

  it('keeps the subscriber details (zone.js, SafeSubscriber) out of the first screen, in "Subscribing: details"', () => {
    const details = readmeSection(readme, 'Subscribing: details');
    expect(details).toContain('zone.js');
    expect(details).toContain('SafeSubscriber');
    const rest = readme.replace(details, '');
    expect([rest.includes('zone.js'), rest.includes('SafeSubscriber')]).toStrictEqual([false, false]);
    expect(readme.indexOf(details)).toBeGreaterThan(readme.indexOf('\n## Jobs, checkpoints and recovery\n'));
  });

  it('has a LICENSE with the full Apache License 2.0, the license package.json names', () => {
    const license = readFileSync('LICENSE', 'utf8');
    expect(pkg.license).toBe('Apache-2.0');
    expect(license.trimStart().startsWith('Apache License\n                           Version 2.0, January 2004')).toBe(true);
    for (const part of ['1. Definitions.', '9. Accepting Warranty or Additional Liability.', 'END OF TERMS AND CONDITIONS', 'APPENDIX: How to apply the Apache License to your work.']) {
      expect(license).toContain(part);
    }
    expect(readme).toContain('License: Apache-2.0 (`LICENSE`)');
  });
});

// ---- docs/SEMANTICS.md and docs/ARCHITECTURE.md ------------------------------------------------------------------

/** Section numbers of a markdown page: `## 3. Title` → '3', `### 3.4 Title` → '3.4'. */
function sectionsOf(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const m of markdown.matchAll(/^#{2,4} (\d+(?:\.\d+)*)[. ]/gm)) found.add(m[1] as string);
  return found;
}

/**
 * The sections of docs/SEMANTICS.md a text cites: `docs/SEMANTICS.md §3.4` or `docs/SEMANTICS.md §3.4`, with the lists and
 * ranges comments use (`§2.5, §5`, `§3.3/§3.4/§3.12`, `§3.3–3.5`).
 */
function citedSections(text: string): string[] {
  const cited: string[] = [];
  const number = /§\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*§?\s*(\d+(?:\.\d+)*))?/g;
  for (const m of text.matchAll(/\bSEMANTICS(?:\.md)?\s*((?:§\s*\d+(?:\.\d+)*(?:\s*[–-]\s*§?\s*\d+(?:\.\d+)*)?(?:\s*(?:,|\/|and)\s*)?)+)/g)) {
    for (const n of (m[1] as string).matchAll(number)) {
      const from = n[1] as string;
      const to = n[2];
      if (to === undefined) {
        cited.push(from);
        continue;
      }
      // a range: §3.3–3.5 (or §3.3–5) is 3.3, 3.4, 3.5
      const a = from.split('.');
      const b = to.includes('.') ? to.split('.') : [...a.slice(0, -1), to];
      const [first, last] = [Number(a.at(-1)), Number(b.at(-1))];
      if (a.slice(0, -1).join('.') !== b.slice(0, -1).join('.') || !(first <= last)) {
        cited.push(from, to);
        continue;
      }
      for (let i = first; i <= last; i++) cited.push([...a.slice(0, -1), String(i)].join('.'));
    }
  }
  return cited;
}

/** Every comment of a TypeScript file (so that strings, such as this test's own examples, do not count). */
function commentsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const found = new Map<number, string>();
  const visit = (node: ts.Node): void => {
    const ranges = [...(ts.getLeadingCommentRanges(text, node.getFullStart()) ?? []), ...(ts.getTrailingCommentRanges(text, node.getEnd()) ?? [])];
    for (const r of ranges) found.set(r.pos, text.slice(r.pos, r.end));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return [...found.values()];
}

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(ext))
    .map((f) => `${dir}/${f}`)
    .sort();
}

describe('docs/SEMANTICS.md and docs/ARCHITECTURE.md', () => {
  const semantics = readFileSync('docs/SEMANTICS.md', 'utf8');
  const sections = sectionsOf(semantics);
  const sources = ['src', 'operators', 'testing', 'test'].flatMap((d) => filesUnder(d, '.ts'));
  const docs = ['README.md', ...filesUnder('docs', '.md')];

  it('reads citations in both forms, with lists and ranges', () => {
    expect(citedSections('see docs/SEMANTICS.md §3.3/§3.4/§3.12 and docs/SEMANTICS.md §2.5, §5; docs/SEMANTICS.md §3.3–3.5, docs/SEMANTICS.md §7.')).toStrictEqual([
      '3.3', '3.4', '3.12', '2.5', '5', '3.3', '3.4', '3.5', '7',
    ]);
    expect(citedSections('(docs/SEMANTICS.md §10.9)').filter((s) => !sections.has(s))).toStrictEqual(['10.9']);
  });

  it('keeps the section numbers the code was written against (§1–§13 and their sub-sections)', () => {
    const expected = [
      '1', '1.1', '1.2', '1.3', '1.4', '1.5', '1.6',
      '2', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7', '2.8',
      '3', ...Array.from({ length: 12 }, (_, i) => `3.${i + 1}`),
      '4', '5', '6', '6.1', '6.2', '6.3', '7', '8', '9', '10', '10.1', '10.2', '10.3', '10.4', '10.5', '10.6', '11', '12', '13',
    ];
    expect(expected.filter((s) => !sections.has(s))).toStrictEqual([]);
    expect(semantics).toContain('**Records after the end of input.**');
  });

  it('every docs/SEMANTICS.md § cited in comments of src/, operators/, testing/ and test/ names a section of docs/SEMANTICS.md', () => {
    const missing: string[] = [];
    let citations = 0;
    for (const f of sources) {
      for (const c of commentsOf(f)) {
        for (const s of citedSections(c)) {
          citations++;
          if (!sections.has(s)) missing.push(`${f}: §${s}`);
        }
      }
    }
    expect(missing).toStrictEqual([]);
    expect(citations).toBeGreaterThan(10);
  });

  it('every § the docs and the README cite exists too', () => {
    const missing = docs.flatMap((f) => citedSections(readFileSync(f, 'utf8')).filter((s) => !sections.has(s)).map((s) => `${f}: §${s}`));
    expect(missing).toStrictEqual([]);
  });

  it('comments cite this repository\'s docs: a SEMANTICS.md or ARCHITECTURE.md they name is docs/…, and exists', () => {
    const wrong: string[] = [];
    const texts = [...sources.flatMap((f) => commentsOf(f).map((c) => [f, c] as const)), ...docs.map((f) => [f, readFileSync(f, 'utf8')] as const)];
    for (const [f, text] of texts) {
      for (const m of text.matchAll(/[\w./-]*(?:SEMANTICS|ARCHITECTURE|API)\.md/g)) {
        const cited = m[0];
        const local = cited.replace(/^\.\//, '');
        const ok = f.startsWith('docs/') ? existsSync(`docs/${local}`) || existsSync(local) : local.startsWith('docs/') && existsSync(local);
        if (!ok) wrong.push(`${f}: ${cited}`);
      }
    }
    expect(wrong).toStrictEqual([]);
  });

  it('every file the two pages name exists', () => {
    const missing: string[] = [];
    for (const page of ['docs/SEMANTICS.md', 'docs/ARCHITECTURE.md']) {
      for (const m of readFileSync(page, 'utf8').matchAll(/`((?:src|operators|testing|test)\/[\w./-]+\.ts)`/g)) {
        if (!existsSync(m[1] as string)) missing.push(`${page}: ${m[1]}`);
      }
    }
    expect(missing).toStrictEqual([]);
  });

  it('ARCHITECTURE.md follows a record and a barrier through the modules, the operator runtime included', () => {
    const arch = readFileSync('docs/ARCHITECTURE.md', 'utf8');
    for (const heading of ['## One record, end to end', '## One barrier, end to end', '### The operator runtime']) expect(arch).toContain(`\n${heading}\n`);
    for (const name of ['JobRunner', 'PipelineRuntime', 'runtimeOf', 'KeyedOperatorCore', 'KeyedStateBackend', 'WindowOperatorCore', 'TimerService', 'PackedSnapshot', 'ChunkWriter', 'checkpointStore', 'SinkWriter', 'SourceReader']) {
      expect(arch).toContain(`\`${name}`);
    }
  });
});
