package multisource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// Impl is the component's registered name.
const Impl = "multi_source"

// closeWait bounds how long Close waits for frames downstream still holds
// (none should be left once the pipeline has stopped) before it closes the
// children anyway.
const closeWait = 2 * time.Second

// Error codes of the errors AddStream and RemoveStream return, as the
// control API reports them.
const (
	CodeInvalidConfig    = "invalid_config"     // the child's config is wrong; the message names the key
	CodeUnknownImpl      = "unknown_impl"       // no such loader is registered
	CodeImplNotAllowed   = "impl_not_allowed"   // not in allowed_impls
	CodePathNotAllowed   = "path_not_allowed"   // a path outside allowed_roots
	CodeSchemeNotAllowed = "scheme_not_allowed" // a URI scheme not in allowed_schemes
	CodeHostNotAllowed   = "host_not_allowed"   // a host not in allowed_hosts
	CodeTooManyStreams   = "too_many_streams"   // max_streams are open
	CodeConflict         = "conflict"           // the id or source id is taken
	CodeNotFound         = "not_found"          // no stream of that id
	CodeBuildFailed      = "build_failed"       // the loader refused to build (a list it could not read)
	CodeClosed           = "not_running"        // the source has ended
	CodeStartFailed      = "start_failed"       // the loader failed to start or to read its first datamap
)

// Error is a refused request, with a code saying why.
type Error struct {
	Code string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// StreamSpec asks for a stream: a registered loader and its config table
// (values as TOML decodes them: integers int64, other numbers float64).
type StreamSpec struct {
	ID       string         // empty: s<N>
	Impl     string         // the loader
	SourceID *int           // nil: the next free id
	Config   map[string]any // the loader's config table
}

// Stream states, as StreamInfo reports them.
const (
	StatePending  = "pending"  // added before the pipeline started
	StateStarting = "starting" // its loader's Start runs
	StateRunning  = "running"
	StateEnded    = "ended"    // its loader reached end of stream; its frames drain
	StateFailed   = "failed"   // its loader failed (the error is in Error); its frames drain
	StateRemoving = "removing" // removed; its frames drain
	StateRemoved  = "removed"  // closed, every frame back
)

// StreamInfo describes a stream.
type StreamInfo struct {
	ID       string
	Impl     string
	SourceID int
	State    string
	Origin   string // "config" or "api"
	Datamaps uint64 // sent downstream so far
	InFlight int    // frames downstream holds now
	Error    string
	Config   any // the loader's config, as built
}

// Source is multi_source.
type Source struct {
	cfg  Config
	env  *ds3d.Env
	log  *slog.Logger
	vet  *vetter
	out  chan *ds3d.DataMap
	root context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	addMu sync.Mutex // one add at a time: a slot is checked, built and taken together

	mu         sync.Mutex
	streams    map[string]*stream
	order      []string // ids in the order added
	nextID     int
	nextSource int
	started    bool
	closed     bool
	active     int  // streams whose loader still produces
	ever       bool // some stream has produced
	empty      chan struct{}
	emptyOnce  sync.Once
	afterStart func() bool
	closeOnce  sync.Once
	retired    map[int]uint64 // datamaps of the streams gone, per source id
}

type stream struct {
	id, impl, origin string
	sourceID         int
	cfg              any
	comp             ds3d.Loader
	ctx              context.Context
	cancel           context.CancelFunc
	lease            *lease
	done             chan struct{} // closed once closed and gone
	first            chan struct{} // closed once its loader gave its first answer (or failed to start)
	firstOnce        sync.Once
	firstErr         error // what that answer was, when not a datamap
	n                atomic.Uint64

	// under Source.mu
	state     string
	err       error
	launched  bool
	finishing bool
}

// New builds multi_source and the loaders of its initial streams.
func New(c *Config, env *ds3d.Env) (*Source, error) {
	if env == nil {
		env = &ds3d.Env{}
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	vet, err := newVetter(c, env.ConfigDir)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: *c, env: env, log: log, vet: vet, out: make(chan *ds3d.DataMap, c.QueueSize),
		streams: map[string]*stream{}, empty: make(chan struct{}), retired: map[int]uint64{}}
	s.root, s.stop = context.WithCancel(context.Background())
	for i, sc := range c.Streams {
		spec := StreamSpec(sc)
		if _, err := s.add(spec, "config"); err != nil {
			s.Close()
			return nil, fmt.Errorf("streams[%d] (%s): %w", i, sc.Impl, err)
		}
	}
	return s, nil
}

// Start launches the streams' goroutines. They stop when ctx ends, on
// Close, or one by one on RemoveStream.
func (s *Source) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("multi_source: closed")
	}
	s.started = true
	s.afterStart = context.AfterFunc(ctx, s.stop)
	for _, id := range s.order {
		s.launch(s.streams[id])
	}
	return nil
}

// Next returns the next datamap of any stream, in arrival order.
func (s *Source) Next(ctx context.Context) (*ds3d.DataMap, error) {
	select {
	case m := <-s.out:
		return m, nil
	default:
	}
	select {
	case m := <-s.out:
		return m, nil
	case <-s.empty:
		select {
		case m := <-s.out:
			return m, nil
		default:
			return nil, io.EOF
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// AddStream builds a stream from spec, vetting it against the allow lists
// first, and starts it when the source runs. Refusals are *Error.
func (s *Source) AddStream(ctx context.Context, spec StreamSpec) (StreamInfo, error) {
	s.addMu.Lock()
	in, err := s.add(spec, "api")
	s.addMu.Unlock()
	if err != nil {
		return in, err
	}
	// A running source answers once the stream's first datamap is read, so
	// a file that does not decode or a camera that does not answer is
	// reported to the caller, not only in the log.
	s.mu.Lock()
	st := s.streams[in.ID]
	s.mu.Unlock()
	if st == nil || !in.launched() {
		return in, nil
	}
	select {
	case <-st.first:
	case <-ctx.Done():
		return s.infoOf(st), nil
	}
	if st.firstErr != nil && !errors.Is(st.firstErr, io.EOF) {
		return StreamInfo{}, &Error{Code: CodeStartFailed, Msg: fmt.Sprintf("stream %s (%s): %v", in.ID, in.Impl, st.firstErr)}
	}
	return s.infoOf(st), nil
}

func (in StreamInfo) launched() bool { return in.State != StatePending }

func (s *Source) infoOf(st *stream) StreamInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info(st)
}

func (s *Source) add(spec StreamSpec, origin string) (StreamInfo, error) {
	api := origin == "api"
	refuse := func(code, format string, args ...any) (StreamInfo, error) {
		return StreamInfo{}, &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
	}
	if spec.ID != "" && !idPattern.MatchString(spec.ID) {
		return refuse(CodeInvalidConfig, "stream id %q: want 1 to 64 letters, digits, '.', '_' or '-'", spec.ID)
	}
	if spec.SourceID != nil && *spec.SourceID < 0 {
		return refuse(CodeInvalidConfig, "source_id %d must be ≥ 0", *spec.SourceID)
	}
	if err := s.checkSlot(spec); err != nil {
		return StreamInfo{}, err
	}
	ls, ok := ds3d.Lookup(spec.Impl)
	switch {
	case !ok:
		if hint, other := ds3d.Elsewhere(spec.Impl); other {
			return refuse(CodeUnknownImpl, "loader %q is not in this build: %s", spec.Impl, hint)
		}
		return refuse(CodeUnknownImpl, "no loader %q is registered (ds3d components lists them)", spec.Impl)
	case ls.Kind != ds3d.KindLoader:
		return refuse(CodeUnknownImpl, "%q is a %s, not a loader", spec.Impl, ls.Kind)
	case spec.Impl == Impl:
		return refuse(CodeImplNotAllowed, "a %s cannot hold another", Impl)
	case api && !slices.Contains(s.cfg.AllowedImpls, spec.Impl):
		return refuse(CodeImplNotAllowed, "loader %q is not allowed here (allowed_impls: %v)", spec.Impl, s.cfg.AllowedImpls)
	}
	name := s.env.Name
	if name == "" {
		name = Impl
	}
	// The allow lists are checked on the decoded config, before any rule
	// that opens a file runs; then the config is checked in full.
	cfg, err := config.DecodeConfig(ls, name, s.env.ConfigDir, spec.Config, !api)
	if err != nil {
		return refuse(CodeInvalidConfig, "%v", err)
	}
	if api {
		if err := s.vet.vet(cfg); err != nil {
			return StreamInfo{}, err
		}
		if cfg, err = config.DecodeConfig(ls, name, s.env.ConfigDir, spec.Config, true); err != nil {
			return refuse(CodeInvalidConfig, "%v", err)
		}
	}
	s.mu.Lock()
	id := spec.ID
	if id == "" {
		for {
			id = "s" + strconv.Itoa(s.nextID)
			s.nextID++
			if s.streams[id] == nil {
				break
			}
		}
	}
	s.mu.Unlock()
	env := *s.env
	env.Name, env.Inputs, env.Log = name+"/"+id, 0, s.log.With("stream", id)
	comp, err := ls.Build(cfg, &env)
	if err != nil {
		return refuse(CodeBuildFailed, "stream %s (%s): %v", id, spec.Impl, err)
	}
	st := &stream{id: id, impl: spec.Impl, origin: origin, cfg: cfg, comp: comp.(ds3d.Loader),
		lease: newLease(), done: make(chan struct{}), first: make(chan struct{}), state: StatePending}
	st.ctx, st.cancel = context.WithCancel(s.root)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkSlotLocked(spec); err != nil { // the pipeline may have ended meanwhile
		st.cancel()
		st.lease.stop()
		closeLoader(st.comp)
		return StreamInfo{}, err
	}
	if spec.SourceID != nil {
		st.sourceID = *spec.SourceID
	} else {
		st.sourceID = s.nextSource
		for s.sourceUsed(st.sourceID) {
			st.sourceID++
		}
	}
	s.nextSource = max(s.nextSource, st.sourceID+1)
	s.streams[id] = st
	s.order = append(s.order, id)
	if s.started {
		s.launch(st)
	}
	s.log.Info("stream added", "stream", id, "impl", spec.Impl, "source_id", st.sourceID, "origin", origin)
	return s.info(st), nil
}

func (s *Source) checkSlot(spec StreamSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkSlotLocked(spec)
}

func (s *Source) checkSlotLocked(spec StreamSpec) error {
	switch {
	case s.closed:
		return &Error{Code: CodeClosed, Msg: "the source has closed"}
	case s.ended():
		return &Error{Code: CodeClosed, Msg: "the source has ended (end_when_empty: its last stream is gone)"}
	case spec.ID != "" && s.streams[spec.ID] != nil:
		return &Error{Code: CodeConflict, Msg: fmt.Sprintf("a stream %q is open already", spec.ID)}
	case spec.SourceID != nil && s.sourceUsed(*spec.SourceID):
		return &Error{Code: CodeConflict, Msg: fmt.Sprintf("source_id %d is used by an open stream", *spec.SourceID)}
	case len(s.streams) >= s.cfg.MaxStreams:
		return &Error{Code: CodeTooManyStreams, Msg: fmt.Sprintf("%d streams are open, max_streams", len(s.streams))}
	}
	return nil
}

func (s *Source) sourceUsed(id int) bool {
	for _, st := range s.streams {
		if st.sourceID == id {
			return true
		}
	}
	return false
}

func (s *Source) ended() bool {
	select {
	case <-s.empty:
		return true
	default:
		return false
	}
}

// launch starts a stream's goroutine; s.mu is held.
func (s *Source) launch(st *stream) {
	if st.launched || st.state == StateRemoving {
		return
	}
	st.launched = true
	st.state = StateStarting
	s.active++
	s.ever = true
	s.wg.Add(1)
	go s.run(st)
}

// run is a stream's goroutine: its loader's Start and Next, then, once it
// ended or was removed, the wait for its frames and its Close.
func (s *Source) run(st *stream) {
	defer s.wg.Done()
	err := s.produce(st)
	s.mu.Lock()
	switch {
	case st.state == StateRemoving:
	case err != nil:
		st.state, st.err = StateFailed, err
		s.log.Error("stream failed", "stream", st.id, "impl", st.impl, "err", err)
	default:
		st.state = StateEnded
		s.log.Info("stream ended", "stream", st.id, "datamaps", st.n.Load())
	}
	s.active--
	if s.active == 0 && s.ever && s.cfg.EndWhenEmpty {
		s.emptyOnce.Do(func() { close(s.empty) })
	}
	s.mu.Unlock()
	s.finish(st)
}

func (s *Source) produce(st *stream) (err error) {
	answered := func(err error) { st.firstOnce.Do(func() { st.firstErr = err; close(st.first) }) }
	defer func() { answered(err) }()
	if sr, ok := st.comp.(ds3d.Starter); ok {
		if err := call(func() error { return sr.Start(st.ctx) }); err != nil {
			if st.ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("start: %w", err)
		}
	}
	s.mu.Lock()
	if st.state == StateStarting {
		st.state = StateRunning
	}
	s.mu.Unlock()
	var keys []ds3d.Key
	for {
		var m *ds3d.DataMap
		err := call(func() (err error) { m, err = st.comp.Next(st.ctx); return err })
		if err == nil || errors.Is(err, io.EOF) {
			answered(nil)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || st.ctx.Err() != nil {
				return nil
			}
			return err
		}
		m.SetInt64(ds3d.KeySourceID, int64(st.sourceID))
		if keys, err = st.lease.wrap(st.ctx, m, keys); err != nil {
			m.Release()
			return nil // only the stream's end stops a wrap
		}
		select {
		case s.out <- m:
			st.n.Add(1)
		case <-st.ctx.Done():
			m.Release()
			return nil
		}
	}
}

// call runs fn, turning a child's panic into its stream's error.
func call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return fn()
}

// finish waits until downstream holds none of the stream's frames (at most
// closeWait once the source closes), closes its loader and forgets it.
func (s *Source) finish(st *stream) {
	s.mu.Lock()
	if st.finishing {
		s.mu.Unlock()
		<-st.done
		return
	}
	st.finishing = true
	s.mu.Unlock()
	if err := st.lease.wait(s.root); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeWait)
		err = st.lease.wait(ctx)
		cancel()
		if err != nil {
			s.log.Warn("closing a stream whose frames are still held downstream", "stream", st.id, "frames", st.lease.outstanding())
		}
	}
	st.lease.stop()
	if err := closeLoader(st.comp); err != nil {
		s.log.Warn("closing a stream", "stream", st.id, "err", err)
	}
	s.mu.Lock()
	st.state = StateRemoved
	s.retired[st.sourceID] += st.n.Load()
	delete(s.streams, st.id)
	if i := slices.Index(s.order, st.id); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	s.mu.Unlock()
	close(st.done)
}

func closeLoader(l ds3d.Loader) error {
	if c, ok := l.(io.Closer); ok {
		return call(c.Close)
	}
	return nil
}

// RemoveStream stops a stream and waits, until ctx ends, for its frames to
// come back from downstream and its loader to close. When ctx ends first
// the stream goes on draining and the answer's State is removing.
func (s *Source) RemoveStream(ctx context.Context, id string) (StreamInfo, error) {
	s.mu.Lock()
	st := s.streams[id]
	if st == nil {
		s.mu.Unlock()
		return StreamInfo{}, &Error{Code: CodeNotFound, Msg: fmt.Sprintf("no stream %q", id)}
	}
	if st.state != StateEnded && st.state != StateFailed {
		st.state = StateRemoving
	}
	st.cancel()
	launched := st.launched
	s.mu.Unlock()
	s.log.Info("removing stream", "stream", id)
	if !launched {
		s.finish(st)
	}
	select {
	case <-st.done:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.info(st), nil
}

// Streams lists the open streams in the order they were added.
func (s *Source) Streams() []StreamInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StreamInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.info(s.streams[id]))
	}
	return out
}

// PoolStats reports, per open stream, the frames it has downstream now
// ("ID/in_flight", out of the most it may have) and the pools of its
// loader when the loader reports them ("ID/NAME"), for the metrics.
func (s *Source) PoolStats() []ds3d.PoolStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ds3d.PoolStat
	for _, id := range s.order {
		st := s.streams[id]
		out = append(out, ds3d.PoolStat{Name: id + "/in_flight", Size: leaseLimit, InUse: st.lease.outstanding()})
		if ps, ok := st.comp.(interface{ PoolStats() []ds3d.PoolStat }); ok {
			for _, p := range ps.PoolStats() {
				p.Name = id + "/" + p.Name
				out = append(out, p)
			}
		}
	}
	return out
}

// SourceCounts reports the datamaps sent per DS3D::SourceId, removed
// streams' included, for the per-source metrics.
func (s *Source) SourceCounts(fn func(source int64, datamaps uint64)) {
	s.mu.Lock()
	counts := make(map[int]uint64, len(s.retired)+len(s.streams))
	for id, n := range s.retired {
		counts[id] = n
	}
	for _, st := range s.streams {
		counts[st.sourceID] += st.n.Load()
	}
	s.mu.Unlock()
	ids := make([]int, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fn(int64(id), counts[id])
	}
}

// info describes st; s.mu is held.
func (s *Source) info(st *stream) StreamInfo {
	in := StreamInfo{ID: st.id, Impl: st.impl, SourceID: st.sourceID, State: st.state, Origin: st.origin,
		Datamaps: st.n.Load(), InFlight: st.lease.outstanding(), Config: st.cfg}
	if st.err != nil {
		in.Error = st.err.Error()
	}
	return in
}

// Close stops every stream, gives back the datamaps still queued, and
// closes the loaders once their frames are back (at most closeWait later).
// Its goroutines, and the streams', have exited when it returns.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		var idle []*stream
		for _, id := range s.order {
			if st := s.streams[id]; !st.launched {
				idle = append(idle, st)
			}
		}
		s.mu.Unlock()
		s.stop()
		if s.afterStart != nil {
			s.afterStart()
		}
		for _, st := range idle {
			st.cancel()
			s.finish(st)
		}
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		for {
			select {
			case m := <-s.out:
				m.Release()
				continue
			case <-done:
			}
			break
		}
		for {
			select {
			case m := <-s.out:
				m.Release()
				continue
			default:
			}
			break
		}
	})
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, Impl,
		`Holds child loaders (streams) and gains and loses them while the pipeline runs, like DeepStream's nvmultiurisrcbin: the control API's POST /api/v1/streams adds one (a uri_source camera, a lidar_file_loader list, a UDP lidar driver), DELETE /api/v1/streams/ID removes it once its frames are back from downstream. Datamaps of all streams interleave in arrival order, each stamped with its stream's DS3D::SourceId; streams added at run time are confined by allowed_impls, allowed_roots, allowed_schemes and allowed_hosts.`,
		DefaultConfig,
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env) })
}
