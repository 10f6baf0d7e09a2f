package ds3d

import (
	"fmt"
	"sync"
)

// DataMap is the unit that flows between components: an ordered map from Key
// to a value. Frames (*Frame) are reference counted: a datamap holds one
// reference to each frame it stores and drops it on Release. Other values
// (box slices, matrices, scalars) are shared by reference and treated as
// read-only once emitted.
//
// Integers and floats have their own slots (SetInt64, SetFloat64) so that
// timestamps and counters never allocate; DataMaps themselves come from a
// pool (NewDataMap / Release), so a steady pipeline allocates nothing.
type DataMap struct {
	entries []entry
}

type valueKind uint8

const (
	kindAny valueKind = iota
	kindFrame
	kindInt
	kindFloat
)

type entry struct {
	key   Key
	kind  valueKind
	frame *Frame
	any   any
	i     int64
	f     float64
}

var dataMapPool = sync.Pool{New: func() any { return &DataMap{entries: make([]entry, 0, 8)} }}

// NewDataMap returns an empty datamap from the pool.
func NewDataMap() *DataMap { return dataMapPool.Get().(*DataMap) }

// Release drops the datamap's frame references and returns it to the pool.
// The datamap must not be used afterwards.
func (m *DataMap) Release() {
	m.Reset()
	dataMapPool.Put(m)
}

// Reset removes every entry, dropping frame references, and keeps the map.
func (m *DataMap) Reset() {
	for i := range m.entries {
		if e := &m.entries[i]; e.kind == kindFrame {
			e.frame.Release()
		}
		m.entries[i] = entry{}
	}
	m.entries = m.entries[:0]
}

// Len is the number of entries.
func (m *DataMap) Len() int { return len(m.entries) }

func (m *DataMap) find(k Key) int {
	for i := range m.entries {
		if m.entries[i].key == k {
			return i
		}
	}
	return -1
}

func (m *DataMap) put(e entry) {
	if i := m.find(e.key); i >= 0 {
		if old := &m.entries[i]; old.kind == kindFrame {
			old.frame.Release()
		}
		m.entries[i] = e
		return
	}
	m.entries = append(m.entries, e)
}

// Set stores v under k, replacing an earlier value. A *Frame stored here is
// owned by the datamap from now on (its reference moves in; Retain first to
// keep one of your own). int64, int and float64 values go to their
// allocation-free slots.
func (m *DataMap) Set(k Key, v any) {
	switch x := v.(type) {
	case *Frame:
		m.SetFrame(k, x)
	case int64:
		m.SetInt64(k, x)
	case int:
		m.SetInt64(k, int64(x))
	case float64:
		m.SetFloat64(k, x)
	default:
		m.put(entry{key: k, kind: kindAny, any: v})
	}
}

// SetFrame stores a frame, taking over the caller's reference.
func (m *DataMap) SetFrame(k Key, f *Frame) { m.put(entry{key: k, kind: kindFrame, frame: f}) }

// SetInt64 stores an integer without allocating.
func (m *DataMap) SetInt64(k Key, v int64) { m.put(entry{key: k, kind: kindInt, i: v}) }

// SetFloat64 stores a float without allocating.
func (m *DataMap) SetFloat64(k Key, v float64) { m.put(entry{key: k, kind: kindFloat, f: v}) }

// Has reports whether k is present.
func (m *DataMap) Has(k Key) bool { return m.find(k) >= 0 }

// Delete removes k (dropping a frame reference) and reports whether it was there.
func (m *DataMap) Delete(k Key) bool {
	i := m.find(k)
	if i < 0 {
		return false
	}
	if e := &m.entries[i]; e.kind == kindFrame {
		e.frame.Release()
	}
	copy(m.entries[i:], m.entries[i+1:])
	m.entries[len(m.entries)-1] = entry{}
	m.entries = m.entries[:len(m.entries)-1]
	return true
}

// Keys appends the keys in insertion order to dst and returns it.
func (m *DataMap) Keys(dst []Key) []Key {
	for i := range m.entries {
		dst = append(dst, m.entries[i].key)
	}
	return dst
}

// Value returns the value stored under k as an interface (boxing scalars).
func (m *DataMap) Value(k Key) (any, bool) {
	i := m.find(k)
	if i < 0 {
		return nil, false
	}
	return m.entries[i].value(), true
}

func (e *entry) value() any {
	switch e.kind {
	case kindFrame:
		return e.frame
	case kindInt:
		return e.i
	case kindFloat:
		return e.f
	}
	return e.any
}

// Range calls fn for each entry in order until fn returns false.
func (m *DataMap) Range(fn func(k Key, v any) bool) {
	for i := range m.entries {
		if !fn(m.entries[i].key, m.entries[i].value()) {
			return
		}
	}
}

// KeyError says that a datamap lacks a key or holds another type under it.
type KeyError struct {
	Key  Key
	Want string // the type asked for
	Got  string // the type found; empty when the key is missing
}

func (e *KeyError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("datamap: no key %s (want %s)", e.Key, e.Want)
	}
	return fmt.Sprintf("datamap: key %s holds %s, want %s", e.Key, e.Got, e.Want)
}

// Get returns the value of type T under k, or a *KeyError naming the key and
// both types. Integer and float slots are readable as int64/int and float64.
func Get[T any](m *DataMap, k Key) (T, error) {
	var zero T
	i := m.find(k)
	if i < 0 {
		return zero, &KeyError{Key: k, Want: fmt.Sprintf("%T", zero)}
	}
	e := &m.entries[i]
	switch p := any(&zero).(type) {
	case **Frame:
		if e.kind == kindFrame {
			*p = e.frame
			return zero, nil
		}
	case *int64:
		if e.kind == kindInt {
			*p = e.i
			return zero, nil
		}
	case *int:
		if e.kind == kindInt {
			*p = int(e.i)
			return zero, nil
		}
	case *float64:
		if e.kind == kindFloat {
			*p = e.f
			return zero, nil
		}
	default:
		if v, ok := e.any.(T); ok && e.kind == kindAny {
			return v, nil
		}
	}
	return zero, &KeyError{Key: k, Want: fmt.Sprintf("%T", zero), Got: fmt.Sprintf("%T", e.value())}
}

// Frame returns the frame under k.
func (m *DataMap) Frame(k Key) (*Frame, error) { return Get[*Frame](m, k) }

// Int64 returns the integer under k.
func (m *DataMap) Int64(k Key) (int64, error) { return Get[int64](m, k) }

// Timestamp returns DS3D::Timestamp in nanoseconds, and false when absent.
func (m *DataMap) Timestamp() (int64, bool) {
	i := m.find(KeyTimestamp)
	if i < 0 || m.entries[i].kind != kindInt {
		return 0, false
	}
	return m.entries[i].i, true
}

// SetTimestamp sets DS3D::Timestamp in nanoseconds.
func (m *DataMap) SetTimestamp(ns int64) { m.SetInt64(KeyTimestamp, ns) }

// Clone returns a pooled datamap with the same entries; frames gain a
// reference each, other values are shared.
func (m *DataMap) Clone() *DataMap {
	c := NewDataMap()
	for i := range m.entries {
		e := m.entries[i]
		if e.kind == kindFrame {
			e.frame.Retain()
		}
		c.entries = append(c.entries, e)
	}
	return c
}

// MoveTo moves every entry of m into dst under the key fn gives (rename on
// the way, as a mixer does with "+P"), leaving m empty. Frame references move
// with their entries.
func (m *DataMap) MoveTo(dst *DataMap, fn func(Key) Key) {
	for i := range m.entries {
		e := m.entries[i]
		if fn != nil {
			e.key = fn(e.key)
		}
		dst.put(e)
		m.entries[i] = entry{}
	}
	m.entries = m.entries[:0]
}

// Summary describes a value in one short line for logs and JSON sinks:
// frames by type, element type and shape, slices by length.
func Summary(v any) string {
	switch x := v.(type) {
	case *Frame:
		return fmt.Sprintf("frame %s %s %s %s", x.Type, x.DType, x.Shape, x.Mem)
	case []Box3D:
		return fmt.Sprintf("%d boxes3d", len(x))
	case []Object2D:
		return fmt.Sprintf("%d objects2d", len(x))
	case []FusedDetection:
		return fmt.Sprintf("%d fused detections", len(x))
	case string:
		return fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%v", v)
}
