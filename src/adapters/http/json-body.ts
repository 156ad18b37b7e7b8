import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import type { Context, Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { badRequest } from './api-error.ts';

const ajv = new Ajv({ allErrors: false, strict: true });

/** Parses a JSON body (at most 64 KiB); the body is read only after the route's auth has passed. */
export const jsonBody = (): Middleware =>
  koaBody({
    json: true,
    multipart: false,
    urlencoded: false,
    text: false,
    jsonLimit: '64kb',
    jsonStrict: true,
  }) as Middleware;

export const compile = <T>(schema: JSONSchemaType<T>): ValidateFunction<T> => ajv.compile(schema);

/** The validated body, or a 400 naming the field at fault. */
export function validBody<T>(ctx: Context, validate: ValidateFunction<T>): T {
  const body: unknown = (ctx.request as unknown as { body?: unknown }).body;
  if (
    body === undefined ||
    (typeof body === 'object' && body !== null && Object.keys(body).length === 0 && !ctx.is('json'))
  ) {
    throw badRequest('the request body must be JSON (Content-Type: application/json)');
  }
  if (!validate(body)) throw badRequest(describe(validate.errors?.[0]));
  return body;
}

function describe(e: ErrorObject | undefined): string {
  if (!e) return 'the body is not valid';
  const at = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required')
    return `${at ? `${at}.` : ''}${(e.params as { missingProperty: string }).missingProperty} is required`;
  if (e.keyword === 'additionalProperties') {
    return `${at ? `${at}.` : ''}${(e.params as { additionalProperty: string }).additionalProperty} is not a known field`;
  }
  return `${at || 'body'} ${e.message ?? 'is not valid'}`;
}
