package web

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimsvault/aimsvault/evidence"
	"github.com/aimsvault/aimsvault/mapping"
	"github.com/aimsvault/aimsvault/server/access"
)

// BenchmarkConsole measures console pages on a large vault
// (AIMSVAULT_BENCH_RECORDS, default 100,000 records), reporting p50 and p99
// latency per request, session check and access log append included:
//
//	AIMSVAULT_BENCH_RECORDS=1000000 go test -run '^$' -bench Console -benchtime 20x -timeout 60m ./server/web/
//
// The dashboard's coverage is a scan of every record in scope (the API's
// /api/v1/coverage): dashboard-uncached is that computation, which grows
// with the vault; dashboard is the page served from the console's cache
// (refreshed in the background while in use). Evidence pages are index range
// scans from a cursor and do not grow with the vault.
func BenchmarkConsole(b *testing.B) {
	n := 100_000
	if s := os.Getenv("AIMSVAULT_BENCH_RECORDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	e := newEnv(b)
	start := time.Now()
	ctx := b.Context()
	var some string
	for i := range n {
		ctl := "A.2.2"
		if i%100 == 0 {
			ctl = "A.6.2.8" // 1% of records: a filter that must skip
		}
		rec, _, err := e.vault.Append(ctx, evidence.Input{
			Run: e.run, Connector: "docs", Type: "files", Kind: "file.document", Subject: fmt.Sprintf("doc-%07d.md", i),
			MediaType: "text/markdown", Controls: []string{ctl}, Content: strings.NewReader(strconv.Itoa(i)),
		})
		if err != nil {
			b.Fatal(err)
		}
		if i == n/2 {
			some = rec.ID
		}
	}
	e.sign()
	b.Logf("built a vault of %d records in %s", n, time.Since(start).Round(time.Millisecond))
	secret, _ := e.token(access.NewToken{Name: "bench", Role: access.Admin})
	id, _ := e.console.sessions.create(secret, time.Now().Add(time.Hour), time.Now())
	cursor := func(i int) string { return base64.RawURLEncoding.EncodeToString([]byte("e:" + strconv.Itoa(i))) }
	mux := http.NewServeMux()
	e.console.Register(mux)
	for _, c := range []struct {
		name  string
		path  func() string
		fresh bool // drop the dashboard's cache first: the full computation
	}{
		{"dashboard-uncached", func() string { return "/" }, true},
		{"dashboard", func() string { return "/" }, false},
		{"control-first-page", func() string { return "/controls/A.2.2" }, false},
		{"control-deep-page", func() string { return "/controls/A.2.2?cursor=" + cursor(rand.IntN(n-100)) }, false},
		{"control-1pct-deep-page", func() string { return "/controls/A.6.2.8?cursor=" + cursor(rand.IntN(n/2)) }, false},
		{"evidence-record", func() string { return "/evidence/" + some }, false},
	} {
		b.Run(fmt.Sprintf("%s/records=%d", c.name, n), func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				if c.fresh {
					e.console.coverage = newSWR[[]mapping.ControlStatus](dashboardTTL, time.Now, func(error) {})
				}
				req := httptest.NewRequest("GET", c.path(), nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
				w := httptest.NewRecorder()
				t := time.Now()
				mux.ServeHTTP(w, req)
				lat = append(lat, time.Since(t))
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", c.path(), w.Code, w.Body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
