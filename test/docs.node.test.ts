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
