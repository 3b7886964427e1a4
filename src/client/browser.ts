/** Page lifecycle signals that should probe or reconnect at once: `online`, `visibilitychange`, `pageshow`. */

export interface PageEnvironment {
  addEventListener(type: 'online' | 'offline' | 'visibilitychange' | 'pageshow', listener: () => void): void;
  removeEventListener(type: 'online' | 'offline' | 'visibilitychange' | 'pageshow', listener: () => void): void;
  isHidden(): boolean;
}

/** The real page, or null outside a browser. */
export function detectPageEnvironment(): PageEnvironment | null {
  const g = globalThis as { window?: Window; document?: Document };
  const win = g.window;
  const doc = g.document;
  if (!win || !doc || typeof win.addEventListener !== 'function') return null;
  const target = (type: string) => (type === 'visibilitychange' ? doc : win);
  return {
    addEventListener: (type, listener) => target(type).addEventListener(type, listener),
    removeEventListener: (type, listener) => target(type).removeEventListener(type, listener),
    isHidden: () => doc.visibilityState === 'hidden',
  };
}

export type WakeTrigger = 'online' | 'visible' | 'pageshow';

/** Subscribes `onWake` / `onHidden` to the page's signals; returns the unsubscribe function. */
export function watchPage(env: PageEnvironment, onWake: (trigger: WakeTrigger) => void, onHidden: () => void): () => void {
  const online = () => onWake('online');
  const visibility = () => (env.isHidden() ? onHidden() : onWake('visible'));
  const pageshow = () => onWake('pageshow');
  env.addEventListener('online', online);
  env.addEventListener('visibilitychange', visibility);
  env.addEventListener('pageshow', pageshow);
  if (env.isHidden()) onHidden();
  return () => {
    env.removeEventListener('online', online);
    env.removeEventListener('visibilitychange', visibility);
    env.removeEventListener('pageshow', pageshow);
  };
}
