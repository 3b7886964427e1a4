import { StrictMode, useState, type FormEvent, type ReactNode } from 'react';
import { TetherProvider, useChannel, useEvent, usePresence, useSocketState } from 'tether-rt/react';

type Message = { user?: string; body: string };
type ChatEvents = { message: Message };

export function Chat() {
  const connection = useSocketState();
  const { channel, state, push } = useChannel<ChatEvents>('chat:lobby');
  const people = usePresence(channel);
  const [messages, setMessages] = useState<Message[]>([]);
  const [draft, setDraft] = useState('');
  useEvent(channel, 'message', (m) => setMessages((all) => [...all.slice(-99), m]));
  const send = (e: FormEvent) => {
    e.preventDefault();
    if (draft) push('message', { body: draft });
    setDraft('');
  };
  return (
    <main>
      <p id="status">{connection} / {state}</p>
      <ul id="people">{people.map((p) => <li key={p.key}>{p.key} ({p.metas.length})</li>)}</ul>
      <ol id="messages">{messages.map((m, i) => <li key={i}>{m.user}: {m.body}</li>)}</ol>
      <form onSubmit={send}><input value={draft} onChange={(e) => setDraft(e.target.value)} /></form>
    </main>
  );
}

export function ChatApp({ user, children }: { user: string; children?: ReactNode }) {
  return (
    <StrictMode>
      <TetherProvider url={`ws://${location.host}/socket`} options={{ params: { user } }}>
        <Chat />
        {children}
      </TetherProvider>
    </StrictMode>
  );
}
