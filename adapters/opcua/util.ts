/** A promise with a time limit: rejects with what it was doing when `ms` pass first. */
/** What withTimeout rejects with: the PLC did not answer in time (told apart from an answer that is an error). */
export class PlcTimeout extends Error {}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new PlcTimeout(`timed out after ${ms} ms ${what}`)), ms);
    }),
  ]);
}
