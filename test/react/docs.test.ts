/** docs/react.md shows the example chat exactly as the browser test runs it. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('the chat in docs/react.md is examples/react-chat/chat.tsx, byte for byte', () => {
  const doc = readFileSync(new URL('../../docs/react.md', import.meta.url), 'utf8');
  const file = readFileSync(new URL('../../examples/react-chat/chat.tsx', import.meta.url), 'utf8');
  const block = /<!-- chat\.tsx -->\n```tsx\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/react.md has the chat.tsx block');
  assert.equal(block[1], file);
});
