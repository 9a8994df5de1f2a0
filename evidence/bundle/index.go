package bundle

import (
	"archive/zip"
	"bufio"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/aimsvault/aimsvault/mapping"
)

// indexCSS keeps the report plain and printable; no external assets.
const indexCSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#111;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1em;margin:1.5em 0 .3em}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.25em .5em;border-bottom:1px solid #e5e5e5;vertical-align:top}
th{background:#f4f4f4}code,.mono{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.covered{color:#0a6b2d;font-weight:600}.stale{color:#9a6700;font-weight:600}.missing{color:#b42318;font-weight:600}.manual{color:#475467;font-weight:600}
.note{color:#555}.d{white-space:nowrap}@media print{a{color:inherit;text-decoration:none}h2{page-break-before:auto}}`

// writeIndex writes data/index.html: who and what the bundle is, coverage
// per requirement item, then each item's evidence with links to the files.
func (e *exporter) writeIndex() error {
	return e.writeStream("data/index.html", zip.Deflate, func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
		esc := html.EscapeString
		rows, gaps := e.coverage()
		f := e.opts.Filter

		p("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence bundle: %s</title><style>%s</style></head><body>\n", esc(e.v.Origin()), indexCSS)
		p("<h1>ISO/IEC 42001 evidence bundle</h1>\n<table>\n")
		p("<tr><th>Vault</th><td><code>%s</code></td></tr>\n", esc(e.v.Origin()))
		p("<tr><th>Checkpoint</th><td>tree size %d, signed %s<br><span class=\"mono\">root %s</span></td></tr>\n",
			e.cp.Size, e.cp.CreatedAt.UTC().Format(time.RFC3339), esc(fmt.Sprintf("%x", e.cp.Root[:])))
		p("<tr><th>Filter</th><td>%s</td></tr>\n", esc(filterText(f.Controls, f.Connectors, f.Since, f.Until, e.opts.Systems)))
		p("<tr><th>Completeness</th><td>%d records selected, %d in this bundle, %d left out%s</td></tr>\n",
			e.sum.Selected, e.sum.Included, e.sum.Excluded, excludedNote(e.sum.Excluded))
		p("</table>\n<p class=\"note\">Verify this bundle offline with <code>aimsvault bundle verify FILE --key vault.pub</code>, or check files with <code>sha256sum -c manifest-sha256.txt</code> in the unpacked folder. Coverage is as of the checkpoint's time.</p>\n")

		counts := map[mapping.Status]int{}
		for _, r := range rows {
			counts[r.Status]++
		}
		p("<h2>Coverage</h2>\n<p>%d requirement items: %d covered, %d stale, %d missing, %d manual.</p>\n", len(rows),
			counts[mapping.Covered], counts[mapping.Stale], counts[mapping.Missing], counts[mapping.Manual])
		if e.opts.Findings != nil {
			p("<p>%d open findings (<a href=\"#findings\">listed below</a>), computed as of the checkpoint from the evidence it covers; a covered item with open findings has evidence that shows the control not fully met.</p>\n", len(e.findings))
		}
		p("<table><tr><th>Item</th><th>Title</th><th>Status</th><th>Evidence</th><th>Newest</th><th>Findings</th>")
		if len(gaps) > 0 {
			p("<th>Gaps in %s..%s</th>", f.Since.UTC().Format("2006-01-02"), f.Until.Add(-time.Nanosecond).UTC().Format("2006-01-02"))
		}
		p("</tr>\n")
		for _, r := range rows {
			newest := "-"
			if r.Newest != nil {
				newest = r.Newest.UTC().Format("2006-01-02")
			}
			p("<tr><td><a href=\"#c-%s\">%s</a></td><td>%s</td><td class=\"%s\">%s</td><td>%d</td><td class=\"d\">%s</td><td>%s</td>",
				esc(r.Control), esc(r.Control), esc(r.Title), r.Status, r.Status, r.EvidenceCount, newest, findingsCell(len(e.openByControl[r.Control])))
			if len(gaps) > 0 {
				p("<td class=\"d\">%s</td>", esc(gapDays(gaps[r.Control])))
			}
			p("</tr>\n")
		}
		p("</table>\n")
		if e.opts.Findings != nil {
			e.writeFindings(p)
		}
		p("<h2>Evidence by item</h2>\n")
		for _, r := range rows {
			p("<h3 id=\"c-%s\">%s %s <span class=\"%s\">(%s)</span></h3>\n", esc(r.Control), esc(r.Control), esc(r.Title), r.Status, r.Status)
			if open := e.openByControl[r.Control]; len(open) > 0 {
				p("<p class=\"missing\">Open findings: %s</p>\n", esc(strings.Join(open, ", ")))
			}
			n := 0
			err := e.eachControlRow(r.Control, func(c controlRow) error {
				if n == 0 {
					p("<table><tr><th>Collected</th><th>Source</th><th>Kind</th><th>Subject</th><th>SHA-256</th></tr>\n")
				}
				n++
				p("<tr><td class=\"d\">%s</td><td>%s</td><td>%s</td><td><a href=\"%s\">%s</a></td><td class=\"mono\">%s</td></tr>\n",
					esc(c.CollectedAt), esc(c.Connector), esc(c.Kind), esc(strings.TrimPrefix(c.Path, "data/")), esc(c.Subject), esc(c.SHA256))
				return nil
			})
			if err != nil {
				return err
			}
			if n == 0 {
				p("<p class=\"note\">No evidence in this bundle.</p>\n")
			} else {
				p("</table>\n")
			}
		}
		p("</body></html>\n")
		return bw.Flush()
	})
}

func filterText(controls, connectors []string, since, until time.Time, systems []string) string {
	var parts []string
	if len(systems) > 0 {
		parts = append(parts, "AI systems "+strings.Join(systems, ", "))
	}
	if len(controls) > 0 {
		parts = append(parts, "controls "+strings.Join(controls, ", "))
	}
	if len(connectors) > 0 {
		parts = append(parts, "connectors "+strings.Join(connectors, ", "))
	}
	if !since.IsZero() {
		parts = append(parts, "collected from "+since.UTC().Format(time.RFC3339))
	}
	if !until.IsZero() {
		parts = append(parts, "collected before "+until.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "all records"
	}
	return strings.Join(parts, "; ")
}

func excludedNote(n int64) string {
	if n == 0 {
		return ""
	}
	return " (see completeness.excluded in manifest.json for each record and why)"
}

func gapDays(gs []mapping.Gap) string {
	if len(gs) == 0 {
		return "none"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		// Inclusive days, as the period is written.
		parts[i] = g.From.UTC().Format("2006-01-02") + ".." + g.To.Add(-time.Nanosecond).UTC().Format("2006-01-02")
	}
	return strings.Join(parts, ", ")
}

func findingsCell(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("<a href=\"#findings\" class=\"missing\">%d open</a>", n)
}

// writeFindings lists the open findings with the records each rests on
// (their canonical bytes are under records/ when the filter selected them).
func (e *exporter) writeFindings(p func(string, ...any)) {
	esc := html.EscapeString
	p("<h2 id=\"findings\">Open findings</h2>\n")
	if len(e.findings) == 0 {
		p("<p class=\"note\">No open findings.</p>\n")
		return
	}
	p("<table><tr><th>Severity</th><th>Finding</th><th>Controls</th><th>AI systems</th><th>Detail</th><th>Records</th></tr>\n")
	for _, f := range e.findings {
		p("<tr><td>%s</td><td><span class=\"mono\">%s</span><br>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"mono\">%s</td></tr>\n",
			esc(string(f.Severity)), esc(f.ID), esc(f.Title), esc(strings.Join(f.Controls, ", ")), esc(strings.Join(f.Systems, ", ")),
			esc(f.Detail), esc(strings.Join(f.Records, " ")))
	}
	p("</table>\n")
}
