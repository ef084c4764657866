/** Deep-freezes a parsed JSON value: a normalizer that tried to mutate its input would throw. */
export function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}

/** Parses JSON and deep-freezes the result. */
export function frozenJson(text: string): Record<string, unknown> {
  return deepFreeze(JSON.parse(text) as Record<string, unknown>);
}
