/** How the content tests cut a text into sentences and count words (flows and the engine's own strings). */

/** Splits a text into sentences: on line breaks and on . ! ? … followed by a space or the end. */
export function sentences(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(/(?<=[.!?…])\s+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Counts words; lone punctuation (French spaced « : ? ») does not count. */
export function wordCount(sentence: string): number {
  return sentence.split(/\s+/).filter((token) => /[\p{L}\p{N}]/u.test(token)).length;
}

/** Tutoiement in French: tu, te, toi, ton, ta, tes, t'. */
export const TUTOIEMENT = /(^|[\s«("'’-])(tu|te|toi|ton|ta|tes)(?=$|[\s,.;:!?…»)])|(^|[\s«("])t['’]\p{L}/iu;

/** Vouvoiement in French: vous, votre, vos. */
export const VOUVOIEMENT = /(^|[\s«("'’-])(vous|votre|vos)(?=$|[\s,.;:!?…»)])/iu;
