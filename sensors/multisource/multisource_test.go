package multisource_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/sensors/multisource"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build makes a multi_source from the TOML keys of its config table, as a
// pipeline file would give them.
func build(t testing.TB, keys string) *multisource.Source {
	t.Helper()
	tbl, err := config.ParseUpdate(keys)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := ds3d.Lookup(multisource.Impl)
	cfg, err := config.DecodeConfig(spec, "src", t.TempDir(), tbl, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := spec.Build(cfg, &ds3d.Env{Name: "src", ConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return c.(*multisource.Source)
}

// TestMerge: two initial streams interleave, each stamped with its own
// source id, and end_when_empty ends the source after both.
func TestMerge(t *testing.T) {
	s := build(t, `end_when_empty = true
streams = [
  {impl = "test_source", config = {count = 5, points = 16, source_id = 40}},
  {impl = "test_source", source_id = 7, config = {count = 3, points = 16}},
  {impl = "test_source", config = {count = 2}},
]`)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for {
		m, err := s.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		id, _ := m.Int64(ds3d.KeySourceID)
		n, _ := m.Int64(ds3d.KeyFrameNumber)
		if int(n) != got[id] {
			t.Errorf("source %d: frame %d, want %d (a stream's order is kept)", id, n, got[id])
		}
		got[id]++
		if f, err := m.Frame(ds3d.KeyLidarXYZI); err == nil && f.Points() != 16 {
			t.Errorf("source %d: %d points", id, f.Points())
		}
		m.Release()
	}
	// Source ids: the first stream has none given (0), then 7, then the
	// next after the highest (8); the child's own source_id is replaced.
	if len(got) != 3 || got[0] != 5 || got[7] != 3 || got[8] != 2 {
		t.Errorf("datamaps per source id %v, want 0:5 7:3 8:2", got)
	}
	counted := map[int64]int{}
	s.SourceCounts(func(id int64, n uint64) { counted[id] = int(n) })
	if len(counted) != 3 || counted[0] != 5 || counted[7] != 3 || counted[8] != 2 {
		t.Errorf("SourceCounts %v, want 0:5 7:3 8:2", counted)
	}
}

// TestRemoveWaitsForFrames: a removed stream is closed only once the
// datamaps it sent are released; Close leaves no goroutine behind.
func TestRemoveWaitsForFrames(t *testing.T) {
	s := build(t, `streams = [{id = "a", impl = "test_source", config = {count = 0, points = 8, mem_pool_size = 2}}]`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// Hold both frames of the child's pool.
	var held []*ds3d.DataMap
	for len(held) < 2 {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, m)
	}
	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	in, err := s.RemoveStream(short, "a")
	stop()
	if err != nil || in.State != multisource.StateRemoving || in.InFlight < 2 {
		t.Fatalf("remove while held: %+v, %v", in, err)
	}
	// The stream's in-flight frames, then its loader's own pool (test_source
	// reports its points pool), both fully held.
	if ps := s.PoolStats(); len(ps) != 2 || ps[0].Name != "a/in_flight" || ps[0].InUse < 2 ||
		ps[1].Name != "a/points" || ps[1].InUse != ps[1].Size {
		t.Errorf("PoolStats while held: %+v", ps)
	}
	// Datamaps still queued in the source count as downstream too: take
	// them, then let everything go.
	for {
		ctx2, stop := context.WithTimeout(ctx, 50*time.Millisecond)
		m, err := s.Next(ctx2)
		stop()
		if err != nil {
			break
		}
		held = append(held, m)
	}
	for _, m := range held {
		m.Release()
	}
	in, err = s.RemoveStream(ctx, "a")
	var e *multisource.Error
	switch {
	case err == nil && in.State == multisource.StateRemoved:
	case errors.As(err, &e) && e.Code == multisource.CodeNotFound: // already gone
	default:
		t.Fatalf("remove after release: %+v, %v", in, err)
	}
	if len(s.Streams()) != 0 {
		t.Errorf("streams after removal: %+v", s.Streams())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}

// TestAddRules: streams added through AddStream obey max_streams, the
// allow lists and the child's config rules; ones added before Start
// start with it; Close closes streams that never started.
func TestAddRules(t *testing.T) {
	s := build(t, `max_streams = 2
allowed_impls = ["test_source"]`)
	ctx := context.Background()
	for _, c := range []struct {
		spec multisource.StreamSpec
		code string
		msg  string
	}{
		{multisource.StreamSpec{Impl: "lidar_file_loader"}, multisource.CodeUnknownImpl, "no loader"},
		{multisource.StreamSpec{Impl: "multi_source"}, multisource.CodeImplNotAllowed, "cannot hold"},
		{multisource.StreamSpec{Impl: "test_source", Config: map[string]any{"count": int64(-1)}}, multisource.CodeInvalidConfig, `key "config.count"`},
		{multisource.StreamSpec{Impl: "test_source", Config: map[string]any{"count": "x"}}, multisource.CodeInvalidConfig, "expected integer"},
	} {
		_, err := s.AddStream(ctx, c.spec)
		var e *multisource.Error
		if !errors.As(err, &e) || e.Code != c.code || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%+v: %v, want %s with %q", c.spec, err, c.code, c.msg)
		}
	}
	for i := 0; i < 2; i++ {
		in, err := s.AddStream(ctx, multisource.StreamSpec{Impl: "test_source"})
		if err != nil || in.State != multisource.StatePending {
			t.Fatalf("add %d before Start: %+v %v", i, in, err)
		}
	}
	_, err := s.AddStream(ctx, multisource.StreamSpec{Impl: "test_source"})
	var e *multisource.Error
	if !errors.As(err, &e) || e.Code != multisource.CodeTooManyStreams {
		t.Errorf("third add: %v", err)
	}
	if in, err := s.RemoveStream(ctx, "s0"); err != nil || in.State != multisource.StateRemoved {
		t.Errorf("removing a pending stream: %+v %v", in, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddStream(ctx, multisource.StreamSpec{Impl: "test_source"}); !errors.As(err, &e) || e.Code != multisource.CodeClosed {
		t.Errorf("add after Close: %v", err)
	}
}

// TestConfigErrors: the loader reports stream mistakes at their key.
func TestConfigErrors(t *testing.T) {
	for keys, want := range map[string]string{
		`streams = [{impl = "nope"}]`:                                                              `key "config.streams[0].impl": no loader "nope"`,
		`streams = [{impl = "counting_sink"}]`:                                                     "not a loader",
		`streams = [{id = "a", impl = "test_source"}, {id = "a", impl = "test_source"}]`:           `"a" is used by an earlier stream`,
		`streams = [{impl = "test_source", source_id = 1}, {impl = "test_source", source_id = 1}]`: "1 is used",
		`streams = [{impl = "test_source", id = "x y"}]`:                                           "letters, digits",
		`max_streams = 1` + "\n" + `streams = [{impl = "test_source"}, {impl = "test_source"}]`:    "more than max_streams",
	} {
		doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"multi_source\"\nlink_to = \"sink\"\n[component.config]\n" + keys +
			"\n[[component]]\nname = \"sink\"\ntype = \"ds3d::datarender\"\nimpl = \"counting_sink\"\n"
		_, err := config.Parse("t.toml", t.TempDir(), []byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", keys, err, want)
		}
	}
	// A child's own key is checked when the source is built.
	spec, _ := ds3d.Lookup(multisource.Impl)
	tbl, _ := config.ParseUpdate(`streams = [{impl = "test_source", config = {rate_hz = 0}}]`)
	cfg, err := config.DecodeConfig(spec, "src", "", tbl, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spec.Build(cfg, &ds3d.Env{Name: "src"}); err == nil || !strings.Contains(err.Error(), `key "config.rate_hz"`) {
		t.Errorf("bad child config: %v", err)
	}
}

// TestConcurrentAddRemove adds and removes streams from several goroutines
// while the source is read, then closes it with streams still open.
func TestConcurrentAddRemove(t *testing.T) {
	s := build(t, `max_streams = 64`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	read := make(chan struct{})
	rctx, stopRead := context.WithCancel(ctx)
	go func() {
		defer close(read)
		for {
			m, err := s.Next(rctx)
			if err != nil {
				return
			}
			m.Release()
		}
	}()
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := 0; i < 10; i++ {
				in, err := s.AddStream(ctx, multisource.StreamSpec{Impl: "test_source", Config: map[string]any{"count": int64(0), "points": int64(4)}})
				if err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := s.RemoveStream(ctx, in.ID); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ids := map[int]bool{}
	for _, in := range s.Streams() {
		if ids[in.SourceID] {
			t.Errorf("source id %d twice", in.SourceID)
		}
		ids[in.SourceID] = true
	}
	if len(ids) != 40 {
		t.Errorf("%d streams open, want 40", len(ids))
	}
	stopRead()
	<-read
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t)
}
