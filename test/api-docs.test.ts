import * as path from 'path';
import * as ts from 'typescript';

/**
 * Documentation rules from STYLE.md that jsii does not enforce, checked on the public API
 * (everything reachable from src/index.ts):
 * - every exported declaration and every member of an exported interface has a doc comment;
 * - every optional property of a struct or interface documents its `@default`.
 */
const program = ts.createProgram([path.join(__dirname, '..', 'src', 'index.ts')], { strict: true, target: ts.ScriptTarget.ES2022 });
const checker = program.getTypeChecker();
const index = program.getSourceFile(path.join(__dirname, '..', 'src', 'index.ts'))!;
const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(index)!)
  // eslint-disable-next-line no-bitwise -- the TypeScript API exposes symbol kinds as bit flags
  .map(s => ((s.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(s) : s));

function docOf(node: ts.Node): { text: string; tags: string[] } {
  // A `/** ... */ export const X = ...` comment belongs to the variable statement, two levels up.
  const owner = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  const jsDocs = (owner as any).jsDoc as ts.JSDoc[] | undefined;
  if (!jsDocs || jsDocs.length === 0) { return { text: '', tags: [] }; }
  const last = jsDocs[jsDocs.length - 1];
  const text = typeof last.comment === 'string' ? last.comment : (last.comment ?? []).map(c => c.text).join('');
  return { text, tags: (last.tags ?? []).map(t => t.tagName.text) };
}

describe('public API documentation', () => {
  test('the public API is not empty', () => {
    expect(exported.map(s => s.name)).toEqual(expect.arrayContaining(['DataLake', 'DataLakeProps', 'DataZone', 'MlPlatformContext']));
  });

  test('every exported declaration has a doc comment', () => {
    const missing = exported.flatMap(s => (s.declarations ?? []).filter(d => docOf(d).text.trim() === '').map(() => s.name));
    expect(missing).toEqual([]);
  });

  test('every optional property documents @default; every property has a doc comment', () => {
    const problems: string[] = [];
    for (const symbol of exported) {
      for (const decl of symbol.declarations ?? []) {
        if (!ts.isInterfaceDeclaration(decl)) { continue; }
        for (const member of decl.members) {
          const name = `${symbol.name}.${member.name?.getText()}`;
          const doc = docOf(member);
          if (doc.text.trim() === '') { problems.push(`${name}: no doc comment`); }
          if (ts.isPropertySignature(member) && member.questionToken && !doc.tags.includes('default')) {
            problems.push(`${name}: optional without @default`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
