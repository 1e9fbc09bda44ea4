// Pure helpers for AWS tag values, shared by constructs (synth time) and Lambda handlers (deploy time):
// no aws-cdk-lib import, so bundling a handler does not pull in the CDK.
import { createHash } from 'crypto';

/** The longest tag value AWS accepts. */
export const MAX_TAG_VALUE_LENGTH = 256;

/** Characters AWS allows in tag values (the common subset across services), at most 256 of them. */
export const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

const DISALLOWED = /[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu;

/** Whether `value` can be used as an AWS tag value as it is. */
export function isValidTagValue(value: string): boolean {
  return TAG_VALUE.test(value);
}

/**
 * `value` made into a valid tag value: every character AWS rejects becomes `_`, and a value longer than 256
 * characters keeps its beginning followed by `+sha256:<SHA-256 of the whole value in hex>` (256 characters in all),
 * so distinct long values stay distinct.
 */
export function sanitizeTagValue(value: string): string {
  const cleaned = value.replace(DISALLOWED, '_');
  // Code points, as the tag value pattern counts them (a surrogate pair is one character).
  const chars = Array.from(cleaned);
  if (chars.length <= MAX_TAG_VALUE_LENGTH) { return cleaned; }
  const suffix = `+${tagSafeDigest(value)}`;
  return `${chars.slice(0, MAX_TAG_VALUE_LENGTH - suffix.length).join('')}${suffix}`;
}

/** `sha256:<hex>` of `value`: a short, tag-safe stand-in for values that are too long or not tag-safe. */
export function tagSafeDigest(value: string): string {
  return `sha256:${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}
