/**
 * uvu with a time limit per test (uvu has none of its own): a test that hangs fails with its name
 * instead of stalling the file until the runner kills it.
 */
import { suite as uvuSuite } from 'uvu';

export * as assert from 'uvu/assert';

type Fn<C> = (ctx: C) => unknown;

export function suite<C extends Record<string, unknown> = Record<string, unknown>>(name: string, ctx?: C, defaultTimeoutMs = 30_000) {
  const s = uvuSuite<C>(name, ctx);
  const wrap =
    (title: string, fn: Fn<C>, ms: number) =>
    (c: C) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`test "${title}" timed out after ${ms} ms`)), ms);
        Promise.resolve()
          .then(() => fn(c))
          .then(
            () => {
              clearTimeout(t);
              resolve();
            },
            (err: unknown) => {
              clearTimeout(t);
              reject(err);
            },
          );
      });
  const test = (title: string, fn: Fn<C>, timeoutMs = defaultTimeoutMs) => s(title, wrap(title, fn, timeoutMs));
  // Hooks take a time limit too (uvu's own take one argument: a limit given them was ignored).
  // Without a limit a hook runs as long as it takes (the runner's limit per file still holds).
  const hook = (register: (fn: (c: C) => unknown) => void, what: string) => (fn: Fn<C>, timeoutMs?: number) => register(timeoutMs === undefined ? fn : wrap(what, fn, timeoutMs));
  test.before = Object.assign(hook((fn) => s.before(fn as never), `${name} before`), { each: s.before.each });
  test.after = Object.assign(hook((fn) => s.after(fn as never), `${name} after`), { each: s.after.each });
  test.run = () => s.run();
  return test;
}
