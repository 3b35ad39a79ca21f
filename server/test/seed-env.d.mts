/** Types for seed-env.mjs. */
export declare const REPO: string;
export declare const CLI: string;
export declare const WEB_DIST: string;
export declare function seedEnv(suspectPollMs?: number): { dir: string; env: Record<string, string> };
export declare function seedServeArgs(o: { port: number; dataDir: string; suspectPollMs?: number }): string[];
