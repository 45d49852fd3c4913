// Package reports writes what nhiscan shows to people: findings as a
// terminal table, JSON or CSV; the auditor's evidence pack (CSV files, the
// snapshot and a manifest of SHA-256 digests); and a self-contained HTML
// report with inline SVG charts.
//
// Writers are plain functions over an io.Writer (or a directory for the
// evidence pack). The package imports the standard library, internal/nhi,
// internal/privilege and internal/textsafe only: it never reads a clock,
// the network or a database, and every time it prints is passed in. Every
// output is sorted by a stable key, so the same input always gives the same
// bytes. Every collected string is treated as hostile: CSV cells are
// neutralised against formula injection, HTML is escaped by html/template,
// and every output (terminal, CSV, HTML, JSON) shows ESC, C1 and bidi
// controls as visible escapes through internal/textsafe. The evidence
// pack's snapshot.json is the exception: it is the canonical inventory,
// byte for byte what the scan's SHA-256 covers.
package reports
