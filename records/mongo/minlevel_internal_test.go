package mongo

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// countingHandler counts the WithAttrs calls that reach it.
type countingHandler struct {
	slog.Handler
	withs *int
}

func (c countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	*c.withs++
	return countingHandler{c.Handler.WithAttrs(as), c.withs}
}

func (c countingHandler) WithGroup(g string) slog.Handler {
	return countingHandler{c.Handler.WithGroup(g), c.withs}
}

// TestMinLevelLazy: FerretDB's loggers drop what is below error, and the
// attributes a dropped record would carry never reach the handler below
// (FerretDB adds whole documents to one per SQL statement); a record at
// error keeps every attribute and group, in order.
func TestMinLevelLazy(t *testing.T) {
	var buf bytes.Buffer
	withs := 0
	log := slog.New(minLevel{h: countingHandler{slog.NewTextHandler(&buf, nil), &withs}, min: slog.LevelError})
	ctx := context.Background()
	for range 100 {
		log.With("args", strings.Repeat("x", 10_000)).DebugContext(ctx, ">>> INSERT")
	}
	if withs != 0 || buf.Len() != 0 {
		t.Fatalf("dropped records: %d WithAttrs reached the handler, %q written", withs, buf.String())
	}
	log.With("a", 1).WithGroup("g").With("b", 2).Error("failed", "c", 3)
	if got, want := strings.TrimSpace(buf.String()), `level=ERROR msg=failed a=1 g.b=2 g.c=3`; !strings.HasSuffix(got, want) {
		t.Errorf("error record %q, want it to end with %q", got, want)
	}
	if withs != 2 {
		t.Errorf("%d WithAttrs reached the handler for the error record, want 2", withs)
	}
}
