export * from './frame.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './close-codes.ts';
export * from './codec-json.ts';
export * from './codec-binary.ts';
export * from './serializer.ts';
export * from './replies.ts';
