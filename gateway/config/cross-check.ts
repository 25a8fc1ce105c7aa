/** Cross-field checks, all in one place, run after the schema has passed. */
import type { ConfigIssue } from '../errors.js';
import type { Config } from './schema.js';
import { mqttCrossCheck } from './mqtt-schema.js';
import { opcuaCrossCheck } from './opcua-schema.js';

export function crossCheck(c: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const lineIds = new Set<string>();
  c.site.lines.forEach((line, li) => {
    if (lineIds.has(line.id)) {
      issues.push({ path: `site.lines.${li}.id`, message: `line id "${line.id}" is declared twice`, hint: 'line ids must be unique within the site' });
    }
    lineIds.add(line.id);
    const ids = new Set<string>();
    line.stations.forEach((st, si) => {
      if (ids.has(st.id)) {
        issues.push({
          path: `site.lines.${li}.stations.${si}.id`,
          message: `station id "${st.id}" is declared twice on line ${line.id}`,
          hint: 'station ids must be unique within a line',
        });
      }
      ids.add(st.id);
      if (st.gsSubstitute !== undefined && /[0-9A-Za-z]/.test(st.gsSubstitute)) {
        issues.push({
          path: `site.lines.${li}.stations.${si}.gsSubstitute`,
          message: `"${st.gsSubstitute}" would be read as data`,
          hint: 'use a character that is not in GS1 element strings, such as ^ ~ | #',
        });
      }
    });
  });
  if (c.http.enabled && c.http.port !== 0 && c.http.port === c.mqtt.port && sameHost(c.http.host, c.mqtt.host)) {
    issues.push({ path: 'http.port', message: `is the same as mqtt.port (${c.mqtt.port})`, hint: 'give HTTP and MQTT different ports' });
  }
  if (c.batch.maxBytes * 4 > c.outbox.maxBytes) {
    issues.push({
      path: 'outbox.maxBytes',
      message: `(${c.outbox.maxBytes}) must hold at least 4 batches of batch.maxBytes (${c.batch.maxBytes})`,
      hint: 'raise outbox.maxBytes or lower batch.maxBytes',
    });
  }
  issues.push(...mqttCrossCheck(c));
  issues.push(...opcuaCrossCheck(c));
  return issues;
}

function sameHost(a: string, b: string): boolean {
  return a === b || a === '0.0.0.0' || b === '0.0.0.0' || a === '::' || b === '::';
}
