import { createRoot } from 'react-dom/client';
import { ChatApp } from './chat.tsx';

const user = new URLSearchParams(location.search).get('user') || `guest-${Math.floor(Math.random() * 1000)}`;
createRoot(document.getElementById('root')!).render(<ChatApp user={user} />);
