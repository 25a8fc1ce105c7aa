/**
 * Disabled `debug` loggers that cost nothing. mqtt-packet (under aedes) and mqtt.js log through the `debug`
 * package several times per packet; a disabled logger of `debug` still takes its arguments as a rest array and
 * reads its `enabled` getter on every call. Per QoS 1 read that was about a fifth of all the bytes the gateway
 * allocated (its garbage collection included) and the same share in a bare aedes broker.
 *
 * This module wraps the `debug` factory before those packages load: a namespace not enabled when its logger is
 * created gets a plain no-op function. `DEBUG=mqtt-packet:*,mqttjs*` set when the process starts still turns
 * their output on (those loggers are the real ones); enabling a namespace later, from code, does not reach
 * loggers already created, and a no-op logger has only `enabled` (false), `namespace` and `extend` (nothing in
 * those packages uses more). Import it before anything that imports aedes or mqtt (ESM evaluates imports in
 * order); a process of its own (the simulator's bare broker) imports it first too.
 */
import { createRequire } from 'node:module';

type Factory = ((namespace: string) => DebugFn) & Record<string, unknown>;
type DebugFn = ((...args: unknown[]) => void) & { enabled: boolean; namespace?: string; extend?: unknown };

const MARK = Symbol.for('scangate.quietDebug');

/**
 * The factory as a proxy of the real one: calls go to make(), everything else (enable, disable, names, formatters)
 * to the real factory, so its state stays one; `.default` and `.debug` (the same factory, for ESM and old callers)
 * give the proxy.
 */
function quieted(real: Factory): Factory {
  const make = (namespace: string): DebugFn => {
    const d = real(namespace);
    if (d.enabled) return d;
    const noop = function quietDebug(): void {} as unknown as DebugFn;
    noop.enabled = false;
    noop.namespace = namespace;
    noop.extend = (sub: string, delimiter?: string) => make(namespace + (delimiter ?? ':') + sub);
    return noop;
  };
  const proxy: Factory = new Proxy(real, {
    apply: (_target, _this, args: unknown[]) => make(String(args[0])),
    get: (target, prop, receiver) => (prop === MARK ? true : prop === 'default' || prop === 'debug' ? proxy : Reflect.get(target, prop, receiver)),
  });
  return proxy;
}

/** Wrap every copy of `debug` that the MQTT packages resolve (one, unless the install holds several versions). */
function install(): void {
  const req = createRequire(import.meta.url);
  const paths = new Set<string>();
  // From where each package resolves its `debug`: mqtt-packet as aedes resolves it, mqtt.js, and this package.
  const from: (() => string)[] = [() => import.meta.url, () => req.resolve('mqtt'), () => createRequire(req.resolve('aedes')).resolve('mqtt-packet')];
  for (const where of from) {
    try {
      paths.add(createRequire(where()).resolve('debug'));
    } catch {
      // Not installed (or not resolvable from here): nothing of it to quiet.
    }
  }
  for (const p of paths) {
    const real = req(p) as Factory;
    const mod = req.cache[p];
    if (mod === undefined || typeof real !== 'function' || (real as unknown as Record<symbol, unknown>)[MARK] === true) continue;
    mod.exports = quieted(real);
  }
}

install();
