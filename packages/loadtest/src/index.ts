/**
 * @hxim/loadtest: the load-test toolkit behind the `loadtest` command. The library surface is what
 * the tests and bench/ scripts use: options, the history checker, histograms, /proc sampling and
 * runLoad().
 */
export * from './options';
export { isLoopback, parseSourceAddrs, sourceAddressFor, MAX_SOURCE_ADDRS } from './addresses';
export { HistoryRecorder, mergeReports, emptyReport, FAILING_COUNTS, MAX_EXAMPLES, type HistoryReport, type HistoryCounts, type Verdict } from './history';
export { newHistogram, recordUs, encodeHistogram, decodeHistogram, mergeHistograms, summarize, type Histogram, type LatencySummary } from './hist';
export { readStamp, writeStamp, makeBody, clientMsgId, msgNoOf, ChatTemplate, STAMP_BYTES, type Stamp } from './body';
export { machineInfo, machineCpuUs, procCpuUs, procRssKiB, sampleProcs, cpuBetween, type MachineInfo, type CpuWindow, type ProcSample } from './proc';
export { formatProgress, type ProgressView } from './progress';
export { toMarkdown, writeOutputs, buildResult, EXIT_FAILED, EXIT_USAGE, type RunResult } from './report';
export { runLoad, ScenarioUnavailable } from './run';
export { RawConn, LoadError } from './raw-conn';
export { buildProgram, COMMON_FLAGS } from './cli';
export { pairServers, reconnectDelayMs } from './scenarios/engine';
export { SCENARIO_DEFS } from './scenarios';
export { GroupHistory, mergeLedgers, messageKey, type GroupLedger, type GroupLayout, type GroupVerdict } from './group-history';
export { GroupPlan, GROUP_BATCH } from './scenarios/group-engine';
