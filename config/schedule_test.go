package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // CRON_TZ= zones, whatever the host has installed
)

func TestLoad_UnsetVariableBreaksOnlyItsConnector(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - name: ok
    type: fake
    owner: o
    token: ${OK_TOKEN}
  - name: github-ml
    type: fake
    owner: o
    token: ${GITHUB_TOKEN}
    page_size: ${PAGE_SIZE}
`
	secret := "s3cr3t-value"
	cfg, err := Load(write(t, src), opts(map[string]string{"OK_TOKEN": secret}))
	if err != nil {
		t.Fatalf("Load: %v; want the file to load with github-ml broken", err)
	}
	if len(cfg.Connectors) != 2 {
		t.Fatalf("got %d connectors, want 2", len(cfg.Connectors))
	}
	ok, broken := cfg.Connectors[0], cfg.Connectors[1]
	if ok.Err != nil {
		t.Errorf("connector ok: Err = %v, want nil", ok.Err)
	}
	if got := ok.Settings.(*fakeSettings).Token.Reveal(); got != secret {
		t.Errorf("connector ok: token not expanded")
	}
	if broken.Err == nil {
		t.Fatal("connector github-ml: Err = nil, want the unset variables")
	}
	if !errors.Is(broken.Err, ErrInvalid) {
		t.Errorf("Err does not match ErrInvalid: %v", broken.Err)
	}
	var list *Errors
	if !errors.As(broken.Err, &list) || len(list.List) != 2 {
		t.Fatalf("Err = %v, want an *Errors with two problems (token and page_size; no decode error for the empty page_size)", broken.Err)
	}
	e := find(t, list.List, "connectors[1] (github-ml).token")
	if want := string(filepath.Separator) + "aimsvault.yaml:9: connectors[1] (github-ml).token: ${GITHUB_TOKEN} is not set: export it or remove the key"; !strings.HasSuffix(e.Error(), want) {
		t.Errorf("Error() = %q\nwant it to end in %q", e.Error(), want)
	}
	if p := find(t, list.List, "connectors[1] (github-ml).page_size"); p.Line != 10 || !strings.Contains(p.Msg, "${PAGE_SIZE}") {
		t.Errorf("got %v, want line 10 naming ${PAGE_SIZE}", p)
	}
	if strings.Contains(broken.Err.Error(), secret) {
		t.Errorf("Err holds a secret value: %v", broken.Err)
	}
}

func TestLoad_UnsetVariableThroughAlias(t *testing.T) {
	t.Parallel()
	src := `connectors:
  - name: a
    type: fake
    owner: o
    token: &tok ${TOKEN}
  - name: b
    type: fake
    owner: o
    token: *tok
`
	cfg, err := Load(write(t, src), opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Connectors {
		if c.Err == nil || !strings.Contains(c.Err.Error(), "${TOKEN} is not set") {
			t.Errorf("connector %s: Err = %v, want ${TOKEN} named", c.Name, c.Err)
		}
	}
}

func TestLoad_UnsetVariableOutsideConnectorsFailsTheFile(t *testing.T) {
	t.Parallel()
	src := `server:
  listen: ${LISTEN}
connectors:
  - name: a
    type: fake
    owner: o
`
	list := loadErrs(t, src, opts(nil))
	if e := find(t, list, "server.listen"); e.Line != 2 || !strings.Contains(e.Msg, "${LISTEN} is not set") {
		t.Errorf("got %v", e)
	}
}

func TestLoad_Schedules(t *testing.T) {
	t.Parallel()
	src := `defaults:
  schedule: "@daily"
connectors:
  - name: cron
    type: plain
    schedule: "*/15 9-17 * * 1-5"
  - name: every
    type: plain
    schedule: "@every 1s"
  - name: zoned
    type: plain
    schedule: "CRON_TZ=Europe/Paris 0 3 * * *"
  - name: default
    type: plain
`
	cfg, err := Load(write(t, src), opts(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"*/15 9-17 * * 1-5", "@every 1s", "CRON_TZ=Europe/Paris 0 3 * * *", "@daily"}
	for i, c := range cfg.Connectors {
		if c.Schedule != want[i] {
			t.Errorf("%s: schedule %q, want %q", c.Name, c.Schedule, want[i])
		}
		if _, err := ParseSchedule(c.Schedule); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
	}
}

func TestLoad_BadSchedule(t *testing.T) {
	t.Parallel()
	src := `defaults:
  schedule: "0 3 * *"
connectors:
  - name: ok
    type: plain
  - name: typo
    type: plain
    schedule: "0 25 * * *"
  - name: fast
    type: plain
    schedule: "@every 100ms"
  - name: zone
    type: plain
    schedule: "CRON_TZ=Mars/Olympus 0 3 * * *"
  - name: secret
    type: plain
    schedule: "${SCHED}"
`
	list := loadErrs(t, src, opts(map[string]string{"SCHED": "s3cr3t"}))
	cases := []struct {
		key  string
		line int
		msg  string
	}{
		{"defaults.schedule", 2, "bad schedule"},
		{"connectors[1] (typo).schedule", 8, "bad schedule"},
		{"connectors[2] (fast).schedule", 11, "at least 1s"},
		{"connectors[3] (zone).schedule", 14, "Mars/Olympus"},
		{"connectors[4] (secret).schedule", 17, "the value of ${SCHED} is not a schedule"},
	}
	for _, c := range cases {
		e := find(t, list, c.key)
		if e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: got %v, want line %d containing %q", c.key, e, c.line, c.msg)
		}
	}
	if len(list) != len(cases) {
		t.Errorf("got %d problems, want %d (a connector inheriting a bad default is not reported again):\n%s", len(list), len(cases), (&Errors{List: list}).Error())
	}
	if all := (&Errors{List: list}).Error(); strings.Contains(all, "s3cr3t") {
		t.Errorf("messages hold a variable's value:\n%s", all)
	}
}

func TestParseSchedule_Next(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 10, 2, 59, 30, 0, time.UTC)
	cases := []struct {
		spec string
		want time.Time
	}{
		{"CRON_TZ=UTC 0 3 * * *", time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)},
		{"@every 90s", at.Add(90 * time.Second)},
		{"CRON_TZ=Asia/Tokyo 0 12 * * *", time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		s, err := ParseSchedule(c.spec)
		if err != nil {
			t.Fatalf("%s: %v", c.spec, err)
		}
		if got := s.Next(at); !got.Equal(c.want) {
			t.Errorf("%s: Next(%v) = %v, want %v", c.spec, at, got, c.want)
		}
	}
}
