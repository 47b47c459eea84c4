/** @hxim/im-server: the TCP connection layer. */
export * from './cluster/ports';
export { ImServer, startServer, type ServerDeps } from './server';
export { parseOptions, defaultOptions, ConfigError, type ServerOptions, type AuthMode } from './config';
export { Stats } from './stats';
