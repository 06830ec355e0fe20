/**
 * Types of `console-assets.generated.js`, which `npm run build:console` writes from console/src
 * (`npm start`, `npm test` and `cdk synth` build it when it is missing or stale). Committed so the
 * type-check needs no build; the generated module itself is not committed.
 */
export declare const CONSOLE_SOURCE_HASH: string;
/** The page served at GET /console. */
export declare const CONSOLE_HTML: string;
/** Hashed asset names (`app-<hash>.js`, `app-<hash>.css`) to their content type and text. */
export declare const CONSOLE_FILES: Readonly<Record<string, { readonly type: string; readonly body: string }>>;
