// Package meta is DeepStream's batch → frame → object metadata in Go
// (NvDsBatchMeta, NvDsFrameMeta, NvDsObjectMeta, NvDsClassifierMeta,
// NvDsUserMeta): what the 2D core's muxer, inference and tracker attach to a
// batch of frames. A BatchMeta holds one FrameMeta per frame of the batch,
// a FrameMeta the ObjectMetas found in that frame, an ObjectMeta its box and
// classification (ds3d.Object2D), tracker id and confidence, classifier
// results and user metadata.
//
// Metadata is pooled as DeepStream pools it: Pool.Get returns an empty
// BatchMeta, Pool.Put resets it, and AddFrame, AddObject and AddClassifier
// reuse the slots (and their nested slices) of earlier use, so a pipeline
// in steady state allocates no metadata. Reset clears every reference
// (labels, user data) so nothing is kept alive by a pooled batch.
// Timestamps are int64 nanoseconds as everywhere in ds3d-go.
package meta

import (
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// UntrackedID is the TrackID of an object no tracker has seen
// (DeepStream's UNTRACKED_OBJECT_ID, here −1 as in ds3d.Object2D).
const UntrackedID = -1

// UserMeta is metadata of the application's own type, tagged so that
// readers find theirs (NvDsUserMeta; Type replaces the meta_type enum).
type UserMeta struct {
	Type string
	Data any
}

// Label is one result of a classifier: class, label and probability
// (NvDsLabelInfo).
type Label struct {
	ClassID int32
	Label   string
	Prob    float32
}

// ClassifierMeta is the output of one secondary classifier on an object
// (NvDsClassifierMeta).
type ClassifierMeta struct {
	ComponentID int32 // unique id of the classifier that made it
	Labels      []Label
}

// ObjectMeta is one object of a frame (NvDsObjectMeta). The embedded
// Object2D holds the box in pixels of the source frame, the class, label,
// detector confidence (Score), source id and the tracker's id (TrackID,
// UntrackedID until a tracker sets it).
type ObjectMeta struct {
	ds3d.Object2D
	ComponentID       int32   // unique id of the detector that made it
	Parent            int32   // index of the parent object in the frame, −1 for none
	TrackerConfidence float32 // the tracker's confidence in the target, 0 when untracked
	Classifiers       []ClassifierMeta
	User              []UserMeta
}

// FrameMeta is one frame of a batch (NvDsFrameMeta).
type FrameMeta struct {
	SourceID int32 // stream the frame came from
	BatchID  int32 // index of the frame in its batch
	FrameNum int64 // frame number within its stream, from 0
	PTS      int64 // presentation time stamp, ns
	NTP      int64 // NTP (wall clock) time stamp, ns since the Unix epoch
	Width    int32 // source frame size in pixels
	Height   int32
	Objects  []ObjectMeta
	User     []UserMeta
}

// BatchMeta is the metadata of a batch of frames (NvDsBatchMeta).
type BatchMeta struct {
	MaxFrames int // the batch size the muxer was configured for (0: unbounded)
	Frames    []FrameMeta
	User      []UserMeta
}

// AddFrame appends a frame, reusing an earlier slot and its capacity when
// there is one, and returns it reset with BatchID set. Pointers returned
// by AddFrame stay valid until the next AddFrame or Reset.
func (b *BatchMeta) AddFrame() *FrameMeta {
	n := len(b.Frames)
	if n < cap(b.Frames) {
		b.Frames = b.Frames[:n+1]
	} else {
		b.Frames = append(b.Frames, FrameMeta{})
	}
	f := &b.Frames[n]
	f.reset()
	f.BatchID = int32(n)
	return f
}

// AddObject appends an object, reusing an earlier slot, and returns it
// reset: untracked, no parent. The pointer stays valid until the next
// AddObject or reset of the frame.
func (f *FrameMeta) AddObject() *ObjectMeta {
	n := len(f.Objects)
	if n < cap(f.Objects) {
		f.Objects = f.Objects[:n+1]
	} else {
		f.Objects = append(f.Objects, ObjectMeta{})
	}
	o := &f.Objects[n]
	o.reset()
	return o
}

// AddClassifier appends a classifier result for component id, reusing an
// earlier slot, and returns it with no labels.
func (o *ObjectMeta) AddClassifier(componentID int32) *ClassifierMeta {
	n := len(o.Classifiers)
	if n < cap(o.Classifiers) {
		o.Classifiers = o.Classifiers[:n+1]
	} else {
		o.Classifiers = append(o.Classifiers, ClassifierMeta{})
	}
	c := &o.Classifiers[n]
	clear(c.Labels)
	c.Labels = c.Labels[:0]
	c.ComponentID = componentID
	return c
}

// Objects2D appends the frame's objects as ds3d.Object2D to dst (e.g. to
// feed a tracker or DS3D::Object2DBboxKey) and returns it.
func (f *FrameMeta) Objects2D(dst []ds3d.Object2D) []ds3d.Object2D {
	for i := range f.Objects {
		dst = append(dst, f.Objects[i].Object2D)
	}
	return dst
}

// Reset empties the batch, keeping the capacity of every nested slice and
// dropping every reference it held.
func (b *BatchMeta) Reset() {
	for i := range b.Frames {
		b.Frames[i].reset()
	}
	b.Frames = b.Frames[:0]
	clear(b.User)
	b.User = b.User[:0]
	b.MaxFrames = 0
}

func (f *FrameMeta) reset() {
	for i := range f.Objects {
		f.Objects[i].reset()
	}
	objs, user := f.Objects[:0], f.User[:0]
	clear(f.User)
	*f = FrameMeta{Objects: objs, User: user}
}

func (o *ObjectMeta) reset() {
	for i := range o.Classifiers {
		clear(o.Classifiers[i].Labels)
		o.Classifiers[i].Labels = o.Classifiers[i].Labels[:0]
	}
	clear(o.User)
	cls, user := o.Classifiers[:0], o.User[:0]
	*o = ObjectMeta{Classifiers: cls, User: user, Parent: -1}
	o.TrackID = UntrackedID
	o.ClassID = -1
}

// Pool recycles BatchMetas. The zero value is ready to use and safe for
// concurrent use.
type Pool struct{ p sync.Pool }

// Get returns an empty BatchMeta, recycled when one is available.
func (p *Pool) Get() *BatchMeta {
	if b, ok := p.p.Get().(*BatchMeta); ok {
		return b
	}
	return &BatchMeta{}
}

// Put resets b and returns it to the pool; b must not be used after.
func (p *Pool) Put(b *BatchMeta) {
	if b == nil {
		return
	}
	b.Reset()
	p.p.Put(b)
}
