/**
 * The shape of a Telegram update this channel accepts, validated with ajv before anything else looks at
 * it. Only the fields the channel reads are constrained; Telegram adds fields over time, so others pass.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const id = { type: 'integer', minimum: -(2 ** 53 - 1), maximum: 2 ** 53 - 1 };
const user = {
  type: 'object',
  required: ['id', 'is_bot', 'first_name'],
  properties: {
    id,
    is_bot: { type: 'boolean' },
    first_name: { type: 'string', maxLength: 256 },
    language_code: { type: 'string', maxLength: 35 },
  },
};
const chat = {
  type: 'object',
  required: ['id', 'type'],
  properties: { id, type: { type: 'string', enum: ['private', 'group', 'supergroup', 'channel'] } },
};
const message = {
  type: 'object',
  required: ['message_id', 'date', 'chat'],
  properties: {
    message_id: { type: 'integer', minimum: 0, maximum: 2 ** 31 },
    date: { type: 'integer' },
    chat,
    from: user,
    text: { type: 'string', maxLength: 4096 },
  },
};
const schema = {
  type: 'object',
  required: ['update_id'],
  properties: {
    update_id: { type: 'integer', minimum: 0, maximum: 2 ** 53 - 1 },
    message,
    edited_message: message,
    callback_query: {
      type: 'object',
      required: ['id', 'from', 'chat_instance'],
      properties: {
        id: { type: 'string', minLength: 1, maxLength: 128 },
        from: user,
        chat_instance: { type: 'string', maxLength: 128 },
        data: { type: 'string', maxLength: 64 },
        message: {
          type: 'object',
          required: ['message_id', 'chat'],
          properties: { message_id: message.properties.message_id, chat },
        },
      },
    },
    my_chat_member: {
      type: 'object',
      required: ['chat', 'from', 'date', 'old_chat_member', 'new_chat_member'],
      properties: {
        chat,
        from: user,
        date: { type: 'integer' },
        old_chat_member: { type: 'object' },
        new_chat_member: {
          type: 'object',
          required: ['status'],
          properties: { status: { type: 'string', maxLength: 32 } },
        },
      },
    },
  },
} as const;

// Compiled on the first update, not when the module loads (start time).
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(schema);
  return compiled;
}

function describe(err: ErrorObject): string {
  const where = err.instancePath || '/';
  if (err.keyword === 'enum') return `${where}: must be one of the known values`;
  return `${where}: ${err.message ?? 'is invalid'}`;
}

/** Checks an update; returns the reason it is refused (names the field and rule, never a value). */
export function updateProblem(body: unknown): string | undefined {
  const validate = validator();
  if (validate(body)) return undefined;
  const first = validate.errors?.[0];
  return first ? describe(first) : 'invalid update';
}
