export { DocumentService, DOC_KIND, type DocumentServiceDeps } from './DocumentService.js';
export { DocCloseCodes, MessageType, SyncType } from './protocol.js';
export { compact } from './compact.js';
export type { DocumentLog, LogEntry, LogSubscriber } from '../coordination/DocumentLog.js';
