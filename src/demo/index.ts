/**
 * `tether-rt/demo`: the `room:*` channel `tether serve` runs, the same contract as a minimal Phoenix app, for
 * trying a client or a cluster before writing channels of your own (docs/cli.md).
 */
export { createRoomChannel, recoverableRoomChannel, roomChannel, ROOM_HISTORY } from './room-channel.ts';
