// CSV as spreadsheets read it, shared by the server's exports and the dashboard's downloads (this
// file imports nothing, so the dashboard bundles it as it is).

// OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula.
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 quoting, after neutralising a formula prefix with a leading apostrophe. */
export function csvCell(text: string): string {
  const safe = FORMULA_START.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One line of cells (no line break). */
export const csvLine = (cells: readonly (string | number | null | undefined)[]): string => cells.map((cell) => csvCell(String(cell ?? ''))).join(',');
