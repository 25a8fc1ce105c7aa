/**
 * Security of a PLC session: the gateway's own certificate and trust list (a node-opcua PKI folder), the
 * security mode and policy (never a weaker endpoint than configured), the user identity, and the stable code
 * of a failed connection attempt.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageSecurityMode, OPCUACertificateManager, SecurityPolicy, UserTokenType, type UserIdentityInfo } from 'node-opcua';
import type { OpcuaConfig, OpcuaEndpointConfig } from '../../gateway/config/opcua-schema.js';
import { GatewayError, type ErrorCode } from '../../gateway/errors.js';

export const MODE: Record<OpcuaEndpointConfig['securityMode'], MessageSecurityMode> = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
};

export const POLICY: Record<OpcuaEndpointConfig['securityPolicy'], SecurityPolicy> = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
};

/** The PKI folder: the configured one, else {dataDir}/pki/opcua (never node-opcua's default under $HOME). */
export function pkiDirOf(config: OpcuaConfig, dataDir: string): string {
  return config.pkiDir !== '' ? config.pkiDir : join(dataDir, 'pki', 'opcua');
}

/**
 * A fresh certificate manager for one connection attempt: it reads the trust list from disk, so a certificate
 * an operator moved from rejected/ to trusted/certs is taken at the next attempt without a restart.
 */
export async function certificateManager(pkiDir: string, trustUnknownServers: boolean): Promise<OPCUACertificateManager> {
  const cm = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: trustUnknownServers, disableFileWatchers: true });
  await cm.initialize();
  return cm;
}

export function userIdentity(e: OpcuaEndpointConfig): UserIdentityInfo {
  if (e.username === undefined) return { type: UserTokenType.Anonymous };
  let password = e.password ?? '';
  if (e.passwordFile !== undefined) {
    try {
      password = (readFileSync(e.passwordFile, 'utf8').split(/\r?\n/)[0] ?? '').trimEnd();
    } catch (err) {
      throw new GatewayError('SG_ERR_OPCUA_AUTH', `endpoint ${e.id}: cannot read passwordFile ${e.passwordFile}: ${(err as Error).message}`, {
        cause: err,
        hint: 'make opcua.endpoints[].passwordFile a readable file holding the password on its first line',
      });
    }
  }
  return { type: UserTokenType.UserName, userName: e.username, password };
}

/** The stable code of a failed connection attempt, from node-opcua's error. */
export function classifyConnectError(err: unknown): ErrorCode {
  if (err instanceof GatewayError) return err.code;
  const m = err instanceof Error ? err.message : String(err);
  if (/Cannot find an Endpoint matching|End point must exist|BadSecurityModeRejected|BadSecurityPolicyRejected/i.test(m)) return 'SG_ERR_OPCUA_SECURITY';
  if (/BadCertificateUntrusted|Certificate verification failed|BadCertificate|BadSecurityChecksFailed/i.test(m)) return 'SG_ERR_OPCUA_CERT_UNTRUSTED';
  if (/BadUserAccessDenied|BadIdentityToken|user token policy|BadUserSignatureInvalid/i.test(m)) return 'SG_ERR_OPCUA_AUTH';
  if (/BadNodeIdUnknown|BadNodeIdInvalid|BadTypeMismatch/i.test(m)) return 'SG_ERR_OPCUA_NODE';
  return 'SG_ERR_OPCUA_CONNECT';
}

export const CONNECT_HINTS: Partial<Record<ErrorCode, (e: OpcuaEndpointConfig, pkiDir: string) => string>> = {
  SG_ERR_OPCUA_CONNECT: (e) => `check that the PLC at ${e.url} is up and reachable; the gateway keeps trying`,
  SG_ERR_OPCUA_SECURITY: (e) =>
    `the PLC does not offer ${e.securityMode}/${e.securityPolicy}: enable that endpoint on the PLC, or change securityMode/securityPolicy of endpoint ${e.id}`,
  SG_ERR_OPCUA_CERT_UNTRUSTED: (_e, pki) => `move the PLC's certificate from ${join(pki, 'rejected')} to ${join(pki, 'trusted', 'certs')} once you have checked it`,
  SG_ERR_OPCUA_AUTH: (e) => `check username/password of endpoint ${e.id} against the users configured on the PLC`,
};
