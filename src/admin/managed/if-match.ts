// Versions as entity tags: a managed record at version 3 has `ETag: "3"`; `If-Match` names the version the
// client read (a quoted tag, a weak tag, a bare number or `*`, several separated by commas), and a write against
// another version is refused with 412 so two admins never overwrite each other silently.

export const etagOf = (version: number): string => `"${version}"`;

/** Whether `header` (absent: no precondition) allows a write to a record at `version`. */
export function ifMatchAllows(header: string | undefined, version: number): boolean {
  if (header === undefined) return true;
  return header.split(',').some((part) => {
    const tag = part.trim();
    if (tag === '*') return true;
    const bare = tag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    // Entity tags compare as text: "03" is not the tag of version 3.
    return bare === String(version);
  });
}
