import type Router from '@koa/router';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, titleOf } from './api-error.ts';

export const OPENAPI_PATH = '/api/v1/openapi.json';
const DOC = join('docs', 'openapi.json');

/**
 * The installed docs/openapi.json: looked for upward from this module, so the same code finds it
 * from src/ (tsx), from dist/ and from a bundle in dist/bundle/.
 */
export function openapiDocumentPath(from = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = from, up = 0; up < 6; up++, dir = dirname(dir)) {
    const candidate = join(dir, DOC);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) break;
  }
  return undefined;
}

/** GET /api/v1/openapi.json, without auth: the document is public, as the routes it describes are. */
export function openapiRoute(router: Router): void {
  let text: string | undefined;
  router.get(OPENAPI_PATH, async (ctx) => {
    if (text === undefined) {
      const file = openapiDocumentPath();
      if (!file)
        throw new ApiError(
          500,
          'internal',
          titleOf(500),
          `this rportd was installed without ${DOC}, so it cannot serve its API description`,
        );
      text = readFileSync(file, 'utf8');
    }
    ctx.type = 'application/json; charset=utf-8';
    ctx.body = text;
  });
}
