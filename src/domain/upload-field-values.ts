import type { TagOperator, TagSelector } from './target-selector.ts';
import { passed, refused, type OrRefused, type Refused } from './upload-rejection.ts';
import { validatorNameProblem } from './validators.ts';

const invalid = (field: string, detail: string): Refused => refused('invalid', field, detail);

/** Exactly the spellings Go's strconv.ParseBool accepts, which openrport's clients send. */
const TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

/** A boolean form field as openrport reads it: absent is false; anything outside Go's set is refused. */
export function parseGoBool(field: string, value: string | undefined): OrRefused<boolean> {
  if (value === undefined) return passed(false);
  if (TRUE.includes(value)) return passed(true);
  if (FALSE.includes(value)) return passed(false);
  return invalid(
    field,
    `${field} ${JSON.stringify(value.slice(0, 100))} is not a boolean; use one of ${[...TRUE, ...FALSE].join(' ')}`,
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * openrport's `id`: the caller's uuid for the upload. It names the staged file, so only a
 * well-formed UUID passes (lower-cased, so one id is one upload); empty means "make one up".
 */
export function parseUploadId(value: string | undefined): OrRefused<string | undefined> {
  if (value === undefined || value === '') return passed(undefined);
  if (!UUID.test(value))
    return invalid(
      'id',
      `id ${JSON.stringify(value.slice(0, 100))} is not a UUID (8-4-4-4-12 hexadecimal digits); leave id out and the server makes one`,
    );
  return passed(value.toLowerCase());
}

/**
 * openrport's `tags` field: one JSON object `{"tags":["linux"],"operator":"OR"}`, the operator
 * OR (the default) or AND in any case. Undefined when the field was not sent.
 */
export function parseTagsField(values: string[] | undefined): OrRefused<TagSelector | undefined> {
  if (values === undefined) return passed(undefined);
  if (values.length > 1) return invalid('tags', 'tags was given more than once: send one JSON object');
  let doc: unknown;
  try {
    doc = JSON.parse(values[0]);
  } catch {
    return invalid('tags', 'tags is not JSON: send {"tags":["linux"],"operator":"OR"}');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return invalid('tags', 'tags must be a JSON object such as {"tags":["linux"],"operator":"OR"}');
  const { tags, operator } = doc as { tags?: unknown; operator?: unknown };
  if (
    tags !== undefined &&
    tags !== null &&
    !(Array.isArray(tags) && tags.every((t) => typeof t === 'string'))
  )
    return invalid('tags', 'tags.tags must be a list of strings');
  if (!Array.isArray(tags) || tags.length === 0)
    return invalid('tags', 'no tags specified: please specify tags in the tags list');
  let op: TagOperator = 'OR';
  if (typeof operator === 'string' && /^(or|and)$/i.test(operator))
    op = operator.toUpperCase() as TagOperator;
  else if (operator !== undefined && operator !== null && operator !== '')
    return invalid('tags', `tags.operator ${JSON.stringify(operator).slice(0, 40)} must be "OR" or "AND"`);
  return passed({ tags: [...new Set(tags as string[])], operator: op });
}

/**
 * `validate` and `backup`, each only when given: a push that names neither sends the agents exactly
 * what it sent before them. validate is only a name (the agent holds the command); its shape is
 * checked here so that a command line is refused at the door.
 */
export function parsePushExtras(
  one: (name: string) => string | undefined,
): OrRefused<{ validate?: string; backup?: boolean }> {
  const out: { validate?: string; backup?: boolean } = {};
  const validate = one('validate');
  if (validate !== undefined && validate !== '') {
    const bad = validatorNameProblem(validate);
    if (bad)
      return invalid(
        'validate',
        `validate: ${bad}; it names a validator in the clients' [file-reception.validators], never a command`,
      );
    out.validate = validate;
  }
  const backupValue = one('backup');
  if (backupValue !== undefined) {
    const backup = parseGoBool('backup', backupValue);
    if (!backup.ok) return backup;
    out.backup = backup.value;
  }
  return passed(out);
}
