/**
 * Authentication of embedded-broker clients: salted scrypt password hashes from the configuration
 * (`scangate passwd` makes them), client certificates (mutual TLS: the certificate's CN is the user name),
 * and anonymous access from loopback only. The client id is bound to the user, so no one can take over
 * another user's session ([MQTT-3.1.4-2] lets a new connection with the same id replace the old one).
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { PASSWORD_HASH_RE, type MqttRole, type MqttUserConfig } from '../../gateway/config/mqtt-schema.js';
import { isLoopback } from '../net.js';
import { clientIdBound, principalFor, type Principal } from './acl.js';
import type { RefusalReason } from './stats.js';

/** scrypt cost: N = 2^15, r = 8, p = 1 (about 32 MiB and 50-100 ms per hash on an edge box). */
export const DEFAULT_COST_LOG2 = 15;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

function scryptAsync(password: string | Buffer, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, { N: 2 ** ln, r, p, maxmem: 256 * 2 ** ln * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A salted scrypt hash in the configuration's format: `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64). */
export async function hashPassword(password: string, costLog2 = DEFAULT_COST_LOG2): Promise<string> {
  if (!Number.isInteger(costLog2) || costLog2 < 10 || costLog2 > 20) throw new RangeError('cost must be an integer from 10 to 20');
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, costLog2, 8, 1);
  return `$scrypt$ln=${costLog2},r=8,p=1$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Check a password against a hash (constant time over the derived key). False for a malformed hash. */
export async function verifyPassword(password: string | Buffer, hash: string): Promise<boolean> {
  const m = PASSWORD_HASH_RE.exec(hash);
  if (m === null) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (ln < 1 || ln > 22 || r < 1 || p < 1) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const key = await scryptAsync(password, Buffer.from(m[4]!, 'base64'), ln, r, p).catch(() => null);
  return key !== null && key.length === expected.length && timingSafeEqual(key, expected);
}

/** What a connecting client presents. */
export interface Credentials {
  clientId: string;
  /** The client sent an empty client id and the broker assigned one. */
  assignedClientId: boolean;
  username: string | undefined;
  password: Buffer | undefined;
  remoteAddress: string | undefined;
  /** CN of a client certificate the TLS layer verified against mqtt.tls.caFile. */
  certificateName: string | undefined;
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: RefusalReason; returnCode: 2 | 4 | 5; message: string };

export interface AuthOptions {
  prefix: string;
  site: string;
  users: readonly MqttUserConfig[];
  allowAnonymousLoopback: boolean;
  anonymousRole: MqttRole;
}

export class Authenticator {
  private readonly users = new Map<string, MqttUserConfig>();
  private readonly principals = new Map<string, Principal>();
  private readonly anonymous: Principal;
  private readonly opts: AuthOptions;
  /** Last password each user connected with, as a keyed digest: reconnect storms need not pay scrypt again. */
  private readonly verified = new Map<string, Buffer>();
  private readonly digestKey = randomBytes(32);

  constructor(opts: AuthOptions) {
    this.opts = opts;
    for (const u of opts.users) {
      this.users.set(u.username, u);
      this.principals.set(u.username, principalFor(u, opts.prefix, opts.site));
    }
    this.anonymous = principalFor({ username: null, role: opts.anonymousRole }, opts.prefix, opts.site);
  }

  get userCount(): number {
    return this.users.size;
  }

  private digest(password: Buffer): Buffer {
    return createHash('sha256').update(this.digestKey).update(password).digest();
  }

  async authenticate(c: Credentials): Promise<AuthResult> {
    let name = c.username;
    if (c.certificateName !== undefined) {
      // Mutual TLS: the verified certificate names the user; a user name, if sent, must be the same.
      if (name !== undefined && name !== c.certificateName) {
        return { ok: false, reason: 'certificate', returnCode: 5, message: 'the user name differs from the client certificate' };
      }
      const user = this.users.get(c.certificateName);
      if (user === undefined) return { ok: false, reason: 'certificate', returnCode: 5, message: 'the client certificate does not name a configured user' };
      return this.bind(user, c);
    }
    if (name === undefined) {
      if (!this.opts.allowAnonymousLoopback || !isLoopback(c.remoteAddress)) {
        return { ok: false, reason: 'anonymous', returnCode: 5, message: 'anonymous access is only allowed from loopback' };
      }
      // An anonymous client may not use a client id that belongs to a user (it would take over that session).
      if (!c.assignedClientId) {
        for (const u of this.users.keys()) {
          if (clientIdBound(u, c.clientId)) return { ok: false, reason: 'client_id', returnCode: 2, message: 'the client id belongs to a user' };
        }
      }
      return { ok: true, principal: this.anonymous };
    }
    const user = this.users.get(name);
    if (user === undefined || user.passwordHash === undefined || c.password === undefined) {
      // Same work as a real check, so a probe cannot tell unknown users from wrong passwords by timing.
      await verifyPassword(c.password ?? '', DUMMY_HASH);
      return { ok: false, reason: 'bad_credentials', returnCode: 4, message: 'bad user name or password' };
    }
    const d = this.digest(c.password);
    const known = this.verified.get(name);
    if (!(known !== undefined && timingSafeEqual(known, d))) {
      if (!(await verifyPassword(c.password, user.passwordHash))) return { ok: false, reason: 'bad_credentials', returnCode: 4, message: 'bad user name or password' };
      this.verified.set(name, d);
    }
    return this.bind(user, c);
  }

  private bind(user: MqttUserConfig, c: Credentials): AuthResult {
    if (!c.assignedClientId && !clientIdBound(user.username, c.clientId)) {
      return { ok: false, reason: 'client_id', returnCode: 2, message: `the client id must be "${user.username}" or start with "${user.username}-"` };
    }
    return { ok: true, principal: this.principals.get(user.username)! };
  }
}

// A fixed, valid hash of a random password (cost 2^15), used to spend the same time on unknown users.
const DUMMY_HASH = '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
