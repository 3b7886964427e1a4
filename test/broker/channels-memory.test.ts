import { MemoryBroker } from '../../src/broker/memory.ts';
import { runChannelScenarios } from './channel-scenarios.ts';

runChannelScenarios({
  name: 'memory',
  broker: () => new MemoryBroker(),
  cleanup: async () => {},
  multiNode: false,
});
