package bag

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// TopicInfo summarises one topic of a bag.
type TopicInfo struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Messages  uint64 `json:"messages"`
	FirstNano uint64 `json:"first_log_time_ns"`
	LastNano  uint64 `json:"last_log_time_ns"`
	// MetadataCount is metadata.yaml's message_count (-1 without one).
	MetadataCount int64 `json:"metadata_messages"`
	// PointFields are a PointCloud2 topic's fields (of its first message).
	PointFields []ros2.PointField `json:"point_fields,omitempty"`
	Width       uint32            `json:"width,omitempty"`
	Height      uint32            `json:"height,omitempty"`
}

// Info summarises a bag: every message is read (and decoded when decode
// is set), so the counts and time spans are the files' own.
type Info struct {
	Path     string      `json:"path"`
	Storage  string      `json:"storage"`
	Version  int         `json:"metadata_version,omitempty"`
	Files    []string    `json:"files"`
	Messages uint64      `json:"messages"`
	Start    uint64      `json:"start_ns"`
	End      uint64      `json:"end_ns"`
	Topics   []TopicInfo `json:"topics"`
}

// Inspect reads a bag and summarises it. With decode set every message is
// decoded through its schema, and the first error stops it.
func Inspect(path string, decode bool) (*Info, error) {
	b, err := Open(path)
	if err != nil {
		return nil, err
	}
	info := &Info{Path: path, Storage: b.Storage, Files: b.Files}
	if b.Metadata != nil {
		info.Version = b.Metadata.Info.Version
	}
	topics := map[string]*TopicInfo{}
	err = b.Messages(Options{}, func(m *Message) error {
		t := topics[m.Topic]
		if t == nil {
			t = &TopicInfo{Name: m.Topic, Type: m.Type, FirstNano: m.LogTime, MetadataCount: -1}
			topics[m.Topic] = t
			if m.Type == ros2.PointCloud2Type {
				pc, err := ros2.DecodePointCloud2(m.Data)
				if err != nil {
					return m.Errorf("%w", err)
				}
				t.PointFields, t.Width, t.Height = pc.Fields, pc.Width, pc.Height
			}
		}
		t.Messages++
		t.FirstNano = min(t.FirstNano, m.LogTime)
		t.LastNano = max(t.LastNano, m.LogTime)
		if info.Messages == 0 || m.LogTime < info.Start {
			info.Start = m.LogTime
		}
		info.End = max(info.End, m.LogTime)
		info.Messages++
		if decode {
			if m.Type == ros2.PointCloud2Type {
				if _, err := ros2.DecodePointCloud2(m.Data); err != nil {
					return m.Errorf("%w", err)
				}
			}
			if _, err := m.Decode(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if md := b.Metadata; md != nil {
		for _, mt := range md.Info.Topics {
			t := topics[mt.Topic.Name]
			if t == nil {
				t = &TopicInfo{Name: mt.Topic.Name, Type: mt.Topic.Type}
				topics[mt.Topic.Name] = t
			}
			t.MetadataCount = int64(mt.MessageCount)
		}
	}
	for _, t := range topics {
		info.Topics = append(info.Topics, *t)
	}
	sort.Slice(info.Topics, func(i, j int) bool { return info.Topics[i].Name < info.Topics[j].Name })
	return info, nil
}

// WriteJSON writes the summary as indented JSON.
func (in *Info) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(in)
}

// WriteText writes the summary for people.
func (in *Info) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "bag:             %s\n", in.Path)
	if in.Version > 0 {
		fmt.Fprintf(w, "storage:         %s (metadata.yaml version %d), %d file(s)\n", in.Storage, in.Version, len(in.Files))
	} else {
		fmt.Fprintf(w, "storage:         %s, %d file(s)\n", in.Storage, len(in.Files))
	}
	fmt.Fprintf(w, "messages:        %d\n", in.Messages)
	if in.Messages > 0 {
		fmt.Fprintf(w, "time:            %s … %s (%s)\n", stamp(in.Start), stamp(in.End), time.Duration(in.End-in.Start))
	}
	fmt.Fprintf(w, "topics:          %d\n", len(in.Topics))
	for _, t := range in.Topics {
		fmt.Fprintf(w, "  %s  %s  %d msgs", t.Name, t.Type, t.Messages)
		if t.MetadataCount >= 0 && uint64(t.MetadataCount) != t.Messages {
			fmt.Fprintf(w, " (metadata.yaml says %d)", t.MetadataCount)
		}
		if t.Messages > 0 {
			fmt.Fprintf(w, "  %s", time.Duration(t.LastNano-t.FirstNano))
		}
		fmt.Fprintln(w)
		if t.PointFields != nil {
			fmt.Fprintf(w, "    points %d×%d, fields:", t.Width, t.Height)
			for _, f := range t.PointFields {
				fmt.Fprintf(w, " %s(%s@%d", f.Name, f.TypeName(), f.Offset)
				if f.Count != 1 {
					fmt.Fprintf(w, "×%d", f.Count)
				}
				fmt.Fprint(w, ")")
			}
			_, err := fmt.Fprintln(w)
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func stamp(ns uint64) string {
	return time.Unix(0, int64(ns)).UTC().Format("2006-01-02T15:04:05.000000000Z")
}
