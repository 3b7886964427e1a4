/**
 * What one connection attempt sends: the endpoint URL with the connect params (the provider called afresh, the
 * recovery params added on V2) and the auth token as Phoenix's subprotocol (its provider told the attempt number
 * and whether the last token was refused).
 */
import { recoveryConnectParams } from '../protocol/extension.ts';
import { authTokenProtocol, endpointUrl } from './endpoint.ts';
import type { SocketOptions, TokenContext } from './socket-options.ts';

export interface AttemptRequest {
  url: string;
  protocols: string[];
}

/** Rejects when a provider throws. `canMove`: the socket has another endpoint to move to on a drain notice. */
export async function attemptRequest(o: SocketOptions, endpoint: string, clientId: string, context: TokenContext, canMove = false): Promise<AttemptRequest> {
  const p = o.params;
  let params = typeof p === 'function' ? await p() : (p ?? {});
  const t = o.authToken;
  const token = typeof t === 'function' ? await t(context) : t;
  const v2 = o.vsn !== '1.0.0';
  if (v2) params = { ...params, ...recoveryConnectParams(clientId, canMove) };
  return { url: endpointUrl(endpoint, params, v2 ? '2.0.0' : '1.0.0'), protocols: token ? ['phoenix', authTokenProtocol(token)] : [] };
}
