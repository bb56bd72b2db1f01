// Every public export (of every entry point in package.json) has TSDoc with an @example.
import { readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const entries: Record<string, string> = {
  tidewater: 'src/index.ts',
  'tidewater/operators': 'operators/index.ts',
  'tidewater/testing': 'testing/index.ts',
  'tidewater/level': 'src/stores/level.ts',
  'tidewater/indexeddb': 'src/stores/indexedDb.ts',
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
