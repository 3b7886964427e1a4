/** Names of Tether's opt-in wire extension (docs/recovery.md) that client and server must spell alike. */
export const ExtensionParams = {
  /** Connect param that opts a V2 connection into the extension (`tether=1`). */
  optIn: 'tether',
  /** Connect param naming a stable client id: the push de-duplication scope across reconnects and restarts. */
  clientId: 'tether_cid',
} as const;

/** Longest accepted outbox id and client id. */
export const MAX_EXTENSION_ID_LENGTH = 128;
