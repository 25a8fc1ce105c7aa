/** Declared stations, resolved once at start: topic names and the compiled parser per station. */
import type { Config, StationConfig } from './config/index.js';
import { compileParser, type ParseResult } from './parse/index.js';
import type { OperationName } from './reasons.js';

export interface StationContext {
  /** `${line}/${station}` */
  readonly key: string;
  /** A small number of its own (1, 2, ... in declaration order), for indexes keyed by station. */
  readonly index: number;
  readonly site: string;
  readonly line: string;
  readonly station: string;
  readonly operation: OperationName;
  readonly config: StationConfig;
  /** The station's parser; its results leave `ais` empty (the named fields are all the core reads). */
  readonly parse: (input: string) => ParseResult;
  readonly verdictTopic: string;
  readonly rejectTopic: string;
}

export function topicBase(prefix: string, site: string, line: string, station: string): string {
  return `${prefix}/${site}/${line}/${station}`;
}

export class StationRegistry {
  private readonly byKey = new Map<string, StationContext>();
  readonly site: string;
  readonly prefix: string;

  constructor(config: Config) {
    this.site = config.site.id;
    this.prefix = config.mqtt.topicPrefix;
    for (const line of config.site.lines) {
      for (const st of line.stations) {
        const base = topicBase(this.prefix, this.site, line.id, st.id);
        const opts: Parameters<typeof compileParser>[0] = { dd00Policy: st.dd00Policy };
        if (st.gsSubstitute !== undefined) opts.gsSubstitute = st.gsSubstitute;
        if (st.allowedSymbologies !== undefined) opts.allowedSymbologies = st.allowedSymbologies;
        this.byKey.set(`${line.id}/${st.id}`, {
          key: `${line.id}/${st.id}`,
          index: this.byKey.size + 1,
          site: this.site,
          line: line.id,
          station: st.id,
          operation: st.operation,
          config: st,
          // The pipeline reads the named fields only: no `ais` map per read.
          parse: compileParser(opts, { ais: false }),
          verdictTopic: `${base}/verdict`,
          rejectTopic: `${base}/reject`,
        });
      }
    }
  }

  get(line: string, station: string): StationContext | undefined {
    return this.byKey.get(`${line}/${station}`);
  }

  all(): IterableIterator<StationContext> {
    return this.byKey.values();
  }
}
