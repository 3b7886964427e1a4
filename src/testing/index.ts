/**
 * `tether-rt/testing`: what an app's own tests need to prove it survives real networks: a test server with
 * hooks, test clients, a faulty link (the proxy behind `tether proxy`), a virtual clock and event-driven waits.
 */
export { VirtualClock, flushMicrotasks } from './clock.ts';
export { waitFor, notifyChange, WaitTimeoutError, type WaitOptions } from './wait.ts';
export { createFaultyLink, FaultyLink, FAULTY_LINK_DEFAULTS, type FaultyLinkEvents, type FaultyLinkOptions, type FaultyLinkStats, type LinkTarget } from './faulty-link.ts';
export { parseLinkMode, parseLinkScript, parseDuration, parseRate, formatLinkMode, LinkScriptError, type LinkMode, type LinkModeKind, type LinkSchedule, type LinkStep } from './link-mode.ts';
export { createTestServer, TestServer, REFUSED_BY_TEST, TEST_SERVER_DEFAULTS, type TestServerOptions, type TestCleanup, type TestConnection, type ReceivedFrame, type FrameFilter, type ClosedConnection } from './test-server.ts';
export { connectTestClient, TestClient, observedTransport, MAX_RECORDED_TRANSITIONS, type TestClientOptions } from './test-client.ts';
