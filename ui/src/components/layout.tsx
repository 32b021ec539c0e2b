import type { ComponentChildren } from 'preact';
import { ApiError } from '../api';

// The building blocks every page uses: an error line, a titled section, a table.

export function Problem({ error }: { error?: Error }) {
  if (!error) return null;
  const code = error instanceof ApiError ? ` (${error.code})` : '';
  return (
    <p class="problem" role="alert">
      {error.message}
      {code}
    </p>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/** A table with a header row; `empty` when there are no rows. */
export function Table({ caption, head, rows, empty = 'None.' }: { caption: string; head: string[]; rows: ComponentChildren[][]; empty?: string }) {
  if (!rows.length) return <p class="muted">{empty}</p>;
  return (
    <table>
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr>
            {row.map((cell) => (
              <td>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
