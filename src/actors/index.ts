export { ActorSystem, type ActorSystemOptions, type ActorKind, type Observable, type ShutdownReport } from './ActorSystem.js';
export { DeadLetters } from './DeadLetters.js';
export { SelfAskError } from './CellContext.js';
export { DEFAULT_KIND_OPTIONS, resolveKindOptions, type ResolvedKindOptions } from './options.js';
export { backoffDelay } from './Supervision.js';
export type { ActorSystemStats, KindSnapshot } from './ActorMetrics.js';
export type * from './types.js';
