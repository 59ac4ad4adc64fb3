// Types for scripts/kernels-stamp.mjs (imported by test/backend/kernels-stamp.test.ts).
export declare const ASC_OPTIONS: readonly string[];
export declare const STAMP_MODULE: string;
export declare function asmSources(root: string): string[];
export declare function kernelsStamp(root: string): number;
export declare function formatStamp(stamp: number): string;
export declare function stampModuleText(stamp: number): string;
export declare function stampInModuleText(text: string): number | null;
