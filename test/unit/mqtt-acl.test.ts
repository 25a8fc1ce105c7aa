/** ACL rules of the embedded broker: topic matching, filter coverage (wildcards), each role, gateway topics. */
import { clientIdBound, filterCovers, filterMatches, levels, principalFor } from '../../adapters/mqtt/acl.js';
import { assert, suite } from '../helpers/uvu.js';

const test = suite('mqtt-acl');
const P = 'scangate/v1';
const S = 'demo';
const t = (s: string) => levels(s);

test('mqtt-acl - topic matching follows MQTT 4.7 (+, #, parent level, $ topics)', () => {
  assert.ok(filterMatches(t('a/+/c'), t('a/b/c')));
  assert.not.ok(filterMatches(t('a/+/c'), t('a/b/d')));
  assert.not.ok(filterMatches(t('a/+'), t('a/b/c')));
  assert.ok(filterMatches(t('a/#'), t('a/b/c')));
  assert.ok(filterMatches(t('a/#'), t('a')), '# matches the parent level');
  assert.ok(filterMatches(t('#'), t('a/b')));
  assert.not.ok(filterMatches(t('#'), t('$SYS/x')), 'a filter starting with a wildcard never matches $ topics');
  assert.not.ok(filterMatches(t('+/x'), t('$SYS/x')));
  assert.ok(filterMatches(t('$SYS/#'), t('$SYS/x')));
  assert.not.ok(filterMatches(t('a/b'), t('a/b/c')));
  assert.ok(filterMatches(t('a//c'), t('a//c')), 'empty levels are levels');
});

test('mqtt-acl - a filter is covered only when every topic it matches is', () => {
  assert.ok(filterCovers(t('a/+/c'), t('a/b/c')));
  assert.ok(filterCovers(t('a/+/c'), t('a/+/c')));
  assert.ok(filterCovers(t('a/#'), t('a/+/c')));
  assert.ok(filterCovers(t('a/#'), t('a/#')));
  assert.ok(filterCovers(t('a/#'), t('a')));
  assert.not.ok(filterCovers(t('a/+/c'), t('a/#')), '# is wider than a fixed depth');
  assert.not.ok(filterCovers(t('a/+/c'), t('a/+/+')));
  assert.not.ok(filterCovers(t('a/b/c'), t('a/+/c')));
  assert.not.ok(filterCovers(t('a/+'), t('a')));
  assert.not.ok(filterCovers(t('a/+/c'), t('#')));
  assert.not.ok(filterCovers(t('#'), t('$SYS/#')), '# does not cover $SYS');
  assert.ok(filterCovers(t('$SYS/#'), t('$SYS/+/x')));
});

test('mqtt-acl - scanner: publishes reads of its stations only, reads their verdicts only', () => {
  const p = principalFor({ username: 'scan1', role: 'scanner', stations: ['L1/pack'] }, P, S);
  assert.ok(p.canPublish(`${P}/${S}/L1/pack/read`));
  assert.ok(p.canPublish(`${P}/${S}/L1/pack/read/pb`));
  assert.not.ok(p.canPublish(`${P}/${S}/L1/ship/read`), 'another station');
  assert.not.ok(p.canPublish(`${P}/${S}/L2/pack/read`), 'another line');
  assert.not.ok(p.canPublish(`${P}/other/L1/pack/read`), 'another site');
  assert.not.ok(p.canPublish(`${P}/${S}/L1/pack/control`), 'control is for line controllers');
  assert.not.ok(p.canPublish(`${P}/${S}/L1/pack/verdict`), 'verdicts are the gateway\'s');
  assert.not.ok(p.canPublish('anything/else'));
  assert.ok(p.canSubscribe(`${P}/${S}/L1/pack/verdict`));
  assert.ok(p.canSubscribe(`${P}/${S}/L1/pack/reject`));
  assert.ok(p.canSubscribe(`${P}/${S}/gateway/+/state`));
  assert.not.ok(p.canSubscribe(`${P}/${S}/L1/+/verdict`), 'a wildcard reaching other stations');
  assert.not.ok(p.canSubscribe(`${P}/${S}/L1/pack/#`), '# below its station includes the read topics');
  assert.not.ok(p.canSubscribe('#'));
  assert.not.ok(p.canSubscribe(`${P}/${S}/L1/pack/read`), 'other scanners\' reads');
});

test('mqtt-acl - scanner with a wildcard station: every station of its line, nothing else', () => {
  const p = principalFor({ username: 'scan2', role: 'scanner', stations: ['L1/+'] }, P, S);
  assert.ok(p.canPublish(`${P}/${S}/L1/ship/read`));
  assert.not.ok(p.canPublish(`${P}/${S}/L2/ship/read`));
  assert.ok(p.canSubscribe(`${P}/${S}/L1/+/verdict`));
  assert.not.ok(p.canSubscribe(`${P}/${S}/+/+/verdict`));
});

test('mqtt-acl - line controller: its lines\' verdicts, rejects and replies; publishes control only', () => {
  const p = principalFor({ username: 'plc1', role: 'lineController', lines: ['L1'] }, P, S);
  assert.ok(p.canSubscribe(`${P}/${S}/L1/+/verdict`));
  assert.ok(p.canSubscribe(`${P}/${S}/L1/pack/reject`));
  assert.ok(p.canSubscribe(`${P}/${S}/L1/+/control/reply`));
  assert.not.ok(p.canSubscribe(`${P}/${S}/L2/+/verdict`), 'another line');
  assert.not.ok(p.canSubscribe(`${P}/${S}/+/+/verdict`), 'a wildcard line');
  assert.not.ok(p.canSubscribe(`${P}/${S}/L1/#`), 'would include read topics');
  assert.not.ok(p.canSubscribe(`${P}/${S}/L1/+/read`));
  assert.not.ok(p.canSubscribe('#'));
  assert.ok(p.canPublish(`${P}/${S}/L1/pack/control`));
  assert.not.ok(p.canPublish(`${P}/${S}/L2/pack/control`));
  assert.not.ok(p.canPublish(`${P}/${S}/L1/pack/read`), 'a line controller does not scan');
  assert.not.ok(p.canPublish(`${P}/${S}/L1/pack/control/reply`), 'replies are the gateway\'s');
});

test('mqtt-acl - monitor: reads everything of its site, publishes nothing', () => {
  const p = principalFor({ username: 'mon', role: 'monitor' }, P, S);
  assert.ok(p.canSubscribe(`${P}/${S}/#`));
  assert.ok(p.canSubscribe(`${P}/${S}/+/+/read`));
  assert.not.ok(p.canSubscribe('#'), 'beyond its site');
  assert.not.ok(p.canSubscribe('$SYS/#'));
  assert.not.ok(p.canPublish(`${P}/${S}/L1/pack/read`));
  assert.not.ok(p.canPublish('x/y'));
});

test('mqtt-acl - admin: everything, but never the gateway\'s own topics', () => {
  const p = principalFor({ username: 'root', role: 'admin' }, P, S);
  assert.ok(p.canSubscribe('#'));
  assert.ok(p.canSubscribe('$SYS/#'));
  assert.ok(p.canPublish(`${P}/${S}/L1/pack/read`));
  assert.ok(p.canPublish(`${P}/${S}/L1/pack/control`));
  assert.ok(p.canPublish('plant/other/topic'));
  for (const owned of [`${P}/${S}/L1/pack/verdict`, `${P}/${S}/L1/pack/reject`, `${P}/${S}/L1/pack/control/reply`, `${P}/${S}/gateway/gw1/state`, `${P}/other-site/L9/x/verdict`]) {
    assert.not.ok(p.canPublish(owned), owned);
    assert.ok(p.isGatewayTopic(owned), owned);
  }
  assert.not.ok(p.canPublish('$SYS/broker/x'), 'no one publishes on $SYS');
});

test('mqtt-acl - the publish decision is cached per topic and stays right', () => {
  const p = principalFor({ username: 'scan1', role: 'scanner', stations: ['L1/pack'] }, P, S);
  for (let i = 0; i < 1000; i++) {
    assert.ok(p.canPublish(`${P}/${S}/L1/pack/read`));
    assert.not.ok(p.canPublish(`${P}/${S}/L1/x${i}/read`));
  }
});

test('mqtt-acl - a client id is bound to its user', () => {
  assert.ok(clientIdBound('scan1', 'scan1'));
  assert.ok(clientIdBound('scan1', 'scan1-handheld-7'));
  assert.not.ok(clientIdBound('scan1', 'scan1-'), 'a suffix is required after the dash');
  assert.not.ok(clientIdBound('scan1', 'scan10'));
  assert.not.ok(clientIdBound('scan1', 'plc1'));
  assert.not.ok(clientIdBound('scan1', 'xscan1'));
});

test.run();
