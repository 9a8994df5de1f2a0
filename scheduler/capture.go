package scheduler

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"

	"github.com/aimsvault/aimsvault/connectors"
	"github.com/aimsvault/aimsvault/evidence"
)

// captureHandler passes records to the next handler and keeps a redacted
// copy of each for the run's stored log. Secrets are redacted from both.
type captureHandler struct {
	next     slog.Handler
	redactor *connectors.Redactor
	attrs    []slog.Attr
	group    string
	store    *lineStore
}

type lineStore struct {
	mu    sync.Mutex
	max   int
	buf   []evidence.LogLine
	extra int
}

func newCaptureHandler(next slog.Handler, r *connectors.Redactor, max int) *captureHandler {
	return &captureHandler{next: next, redactor: r, store: &lineStore{max: max}}
}

func (h *captureHandler) Enabled(ctx context.Context, l slog.Level) bool {
	// Stored logs keep info and above even if stderr shows less.
	return l >= slog.LevelInfo || h.next.Enabled(ctx, l)
}

func (h *captureHandler) Handle(ctx context.Context, rec slog.Record) error {
	msg := h.redactor.String(rec.Message)
	attrs := map[string]any{}
	for _, a := range h.attrs {
		h.put(attrs, a)
	}
	clean := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		a = h.redactAttr(a)
		clean.AddAttrs(a)
		h.put(attrs, a)
		return true
	})
	// Constant per-run keys are the run's own columns; keep lines short.
	delete(attrs, "connector")
	delete(attrs, "type")
	delete(attrs, "run")
	raw, _ := json.Marshal(attrs)

	h.store.mu.Lock()
	if len(h.store.buf) < h.store.max {
		h.store.buf = append(h.store.buf, evidence.LogLine{Time: rec.Time, Level: rec.Level.String(), Msg: msg, Attrs: raw})
	} else {
		h.store.extra++
	}
	h.store.mu.Unlock()

	if h.next.Enabled(ctx, rec.Level) {
		return h.next.Handle(ctx, clean)
	}
	return nil
}

func (h *captureHandler) put(m map[string]any, a slog.Attr) {
	key := a.Key
	if h.group != "" {
		key = h.group + "." + key
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, ga := range v.Group() {
			h.put(m, slog.Attr{Key: a.Key + "." + ga.Key, Value: ga.Value})
		}
		return
	}
	m[key] = v.Any()
	if err, ok := v.Any().(error); ok {
		m[key] = h.redactor.String(err.Error())
	}
}

func (h *captureHandler) redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.redactor.String(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.redactor.String(err.Error()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.redactAttr(a)
	}
	c.next = h.next.WithAttrs(red)
	return &c
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = strings.TrimPrefix(h.group+"."+name, ".")
	c.next = h.next.WithGroup(name)
	return &c
}

func (h *captureHandler) lines() []evidence.LogLine {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	return append([]evidence.LogLine(nil), h.store.buf...)
}

func (h *captureHandler) dropped() int {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	return h.store.extra
}
