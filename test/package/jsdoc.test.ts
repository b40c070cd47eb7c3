// An editor's hover is the manual: every name the package exports, and every method, property
// and option field a user can reach through it, carries a doc comment in the published
// declarations (dist/host/index.d.ts, as `npm run build:ts` writes them with stripInternal).
// This walks the declarations with the TypeScript compiler API and lists what has none; it also
// checks that nothing marked @internal reached them.
//
// Numeric constants (PROT_READ, ENOMEM, …) are left out: their name is Linux's or glibc's and is
// their documentation; a constant that is not a plain number (the Op table) is held to the rule.
import { existsSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const entry = join(root, "dist", "host", "index.d.ts");

interface Walk {
  checker: ts.TypeChecker;
  /** The package's declaration files the program read. */
  files: readonly ts.SourceFile[];
  missing: Set<string>;
  internal: Set<string>;
  seen: Set<ts.Symbol>;
}

/** A declaration's own doc comment (a JSDoc block or, for members, a leading `/** … *\/`). */
function hasDoc(walk: Walk, symbol: ts.Symbol): boolean {
  return symbol.getDocumentationComment(walk.checker).some((part) => part.text.trim() !== "");
}

/** A `const NAME = 0x…` of a number. */
function isNumeric(checker: ts.TypeChecker, symbol: ts.Symbol, decl: ts.Declaration): boolean {
  const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
  return (type.flags & (ts.TypeFlags.NumberLike)) !== 0;
}

function isInternal(decl: ts.Declaration): boolean {
  return ts.getJSDocTags(decl).some((t) => t.tagName.text === "internal");
}

/** Declarations that come from the package (not TypeScript's lib or @types). */
function packageDecls(symbol: ts.Symbol): ts.Declaration[] {
  return (symbol.declarations ?? []).filter((d) => d.getSourceFile().fileName.includes(`${join("dist", "host")}`));
}

function visitMembers(walk: Walk, owner: string, type: ts.Type): void {
  for (const member of walk.checker.getPropertiesOfType(type)) {
    const decls = packageDecls(member);
    if (decls.length === 0) continue;
    const flags = ts.getCombinedModifierFlags(decls[0]);
    if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    if (member.name.startsWith("#") || member.name.startsWith("__")) continue;
    const name = `${owner}.${member.name}`;
    if (decls.some(isInternal)) walk.internal.add(name);
    if (!hasDoc(walk, member)) walk.missing.add(name);
    // Option bags and result objects: their fields are part of the manual too.
    const memberType = walk.checker.getTypeOfSymbolAtLocation(member, decls[0]);
    visitObjectType(walk, name, memberType);
  }
}

/** Interfaces and object types named by the package, once each. */
function visitObjectType(walk: Walk, owner: string, type: ts.Type): void {
  const target = type.aliasSymbol ?? type.getSymbol();
  if (!target || walk.seen.has(target)) return;
  if (packageDecls(target).length === 0) return;
  const decl = packageDecls(target)[0];
  if (!ts.isInterfaceDeclaration(decl) && !ts.isTypeLiteralNode(decl) && !ts.isTypeAliasDeclaration(decl)) return;
  walk.seen.add(target);
  visitMembers(walk, ts.isTypeLiteralNode(decl) ? owner : target.name, type);
}

function walkExports(): Walk {
  const program = ts.createProgram([entry], { strict: true, noEmit: true, skipLibCheck: true, lib: ["lib.es2022.d.ts", "lib.dom.d.ts"] });
  const checker = program.getTypeChecker();
  const files = program.getSourceFiles().filter((f) => f.fileName.includes(join("dist", "host")));
  const walk: Walk = { checker, files, missing: new Set(), internal: new Set(), seen: new Set() };
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decls = packageDecls(symbol);
    if (decls.length === 0) continue;
    const name = exported.name;
    if (symbol.flags & ts.SymbolFlags.Variable && isNumeric(checker, symbol, decls[0])) continue;
    if (decls.some(isInternal)) walk.internal.add(name);
    if (!hasDoc(walk, symbol)) walk.missing.add(name);
    if (symbol.flags & ts.SymbolFlags.Class) {
      walk.seen.add(symbol);
      const instance = checker.getDeclaredTypeOfSymbol(symbol);
      visitMembers(walk, name, instance);
      const statics = checker.getTypeOfSymbolAtLocation(symbol, decls[0]);
      for (const member of checker.getPropertiesOfType(statics)) {
        if (member.name === "prototype") continue;
        const memberDecls = packageDecls(member);
        if (memberDecls.length === 0) continue;
        if (!hasDoc(walk, member)) walk.missing.add(`${name}.${member.name}`);
      }
    } else if (symbol.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      walk.seen.add(symbol);
      visitMembers(walk, name, checker.getDeclaredTypeOfSymbol(symbol));
    } else if (symbol.flags & ts.SymbolFlags.Function) {
      // The options and results a function takes and gives, by their named types.
      const type = checker.getTypeOfSymbolAtLocation(symbol, decls[0]);
      for (const signature of type.getCallSignatures()) {
        for (const param of signature.getParameters()) {
          const paramDecl = packageDecls(param)[0];
          if (paramDecl) visitObjectType(walk, `${name}(${param.name})`, checker.getTypeOfSymbolAtLocation(param, paramDecl));
        }
        visitObjectType(walk, `${name}()`, checker.getNonNullableType(signature.getReturnType()));
      }
    }
  }
  return walk;
}

describe.skipIf(!existsSync(entry))("the published declarations (dist/host/index.d.ts)", () => {
  const walk = walkExports();

  it("finds the API it should (the walk itself works)", () => {
    expect(walk.seen.size).toBeGreaterThan(5);
  });

  it("document every exported function, class, method, property and option field", () => {
    expect([...walk.missing].sort(), "exports without a doc comment").toEqual([]);
  });

  it("leave out everything marked @internal", () => {
    expect([...walk.internal].sort()).toEqual([]);
    // Also what the walk does not reach (a type only some declaration mentions): stripInternal
    // removes a marked declaration with its comment, so no published file may still carry one.
    const carrying = walk.files.filter((f) => f.text.includes("@internal")).map((f) => f.fileName);
    expect(carrying).toEqual([]);
  });
});
