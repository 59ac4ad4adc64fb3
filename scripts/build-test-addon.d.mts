// Types for scripts/build-test-addon.mjs (imported by test/backend/op-suite.test.ts).
export declare const TEST_ADDON_DIR: string;
export type TestAddonStatus = { ready: true; directory: string } | { ready: false; reason: string };
export declare function testAddonKey(root?: string, version?: string | null): string;
export declare function testAddonStatus(root?: string): TestAddonStatus;
export declare function buildTestAddon(root?: string): Promise<TestAddonStatus & { built: boolean; seconds?: number }>;
