/** Kubernetes labels: what selectors match, what probe pods carry. Read-only: nothing edits a label map in place. */
export type Labels = Readonly<Record<string, string>>;
