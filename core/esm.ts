// Loads an ESM-only package (node-pg-migrate) from this CommonJS code base, wherever the code runs.
//
// Node 20.19+ can require() an ES module, and that is what works under vitest (whose module runner has no
// callback for a native import()). Under tsx, though, the require hook hands back an empty object for an
// ES module; there an import() built at run time works, because no compiler rewrites it into require().
const nativeImport = new Function("specifier", "return import(specifier)") as (
  specifier: string,
) => Promise<unknown>;

export async function importEsm<T extends object>(specifier: string): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const required = require(specifier) as T;
  if (Object.keys(required).length > 0) return required;
  return (await nativeImport(specifier)) as T;
}
