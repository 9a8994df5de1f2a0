package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
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
	attrs    []groupedAttr // from WithAttrs, redacted
	group    string
	store    *lineStore
}

// groupedAttr is an attribute added with WithAttrs and the group open at
// the time, which its stored key keeps whatever groups open later.
type groupedAttr struct {
	group string
	attr  slog.Attr
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
	for _, ga := range h.attrs {
		put(attrs, ga.group, ga.attr)
	}
	clean := slog.NewRecord(rec.Time, rec.Level, msg, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		a = h.redactAttr(a)
		clean.AddAttrs(a)
		put(attrs, h.group, a)
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

// put stores the redacted attribute a in m under group, flattening groups
// into dotted keys.
func put(m map[string]any, group string, a slog.Attr) {
	key := a.Key
	if group != "" && key != "" {
		key = group + "." + key
	} else if key == "" {
		key = group // an inline group
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, ga := range v.Group() {
			put(m, key, ga)
		}
		return
	}
	if a.Key == "" {
		return // slog ignores an empty attribute
	}
	m[key] = v.Any()
}

// redactAttr returns a with every string in it redacted, in groups too.
// Values of other kinds that could hold text (errors, structs, maps,
// Stringers) become their redacted text, as connectors' client logs them.
func (h *captureHandler) redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.redactor.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]slog.Attr, len(g))
		for i, ga := range g {
			red[i] = h.redactAttr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.redactor.String(err.Error()))
		}
		return slog.String(a.Key, h.redactor.String(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	red := make([]slog.Attr, len(as))
	c.attrs = append([]groupedAttr{}, h.attrs...)
	for i, a := range as {
		red[i] = h.redactAttr(a)
		c.attrs = append(c.attrs, groupedAttr{group: h.group, attr: red[i]})
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
