/**
 * @hxim/business: persistence and domain rules. Works through the ports in ./ports; never
 * imports net, Redis or AMQP.
 */
export * from './ports';
export { SqliteStore, openSqliteStore, parseSqliteOptions, type SqliteStoreOptions } from './sqlite/store';
export * from './batcher';
export { openStore, type StoreConfig } from './open';
