export { Gateway, type GatewayDeps } from './Gateway.js';
export { CloseCodes, describeClose, type CloseCode } from './CloseCodes.js';
export type { EventContext, EventHandler } from './EventDispatcher.js';
export type { HttpMethod, RouteContext, RouteHandler, RouteOptions } from './http/HttpRouter.js';
export { HttpReply } from './http/HttpReply.js';
export { ClientEvent, ServerEvent } from './protocol.js';
export { RoomKind, parseRoom, userRoom, channelRoom, type AuthorizeRoom, type RoomName } from './RoomPolicy.js';
export type { UpgradeRequest } from './authUpgrade.js';
export { loadUws, type LoadedUws } from './uws.js';
