package multisource

import (
	"fmt"
	"regexp"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// StreamConfig is one stream of the streams list.
type StreamConfig struct {
	ID       string         `toml:"id" doc:"stream id, as the control API names it (DELETE /api/v1/streams/ID): letters, digits, '.', '_' and '-'; empty: s0, s1, … in order"`
	Impl     string         `toml:"impl" required:"true" nonempty:"true" doc:"registered loader that reads the stream (uri_source, lidar_file_loader, velodyne_udp, …)"`
	SourceID *int           `toml:"source_id" min:"0" doc:"DS3D::SourceId stamped on the stream's datamaps, unique among the open streams; left out: the next id after the highest given so far"`
	Config   map[string]any `toml:"config" doc:"the loader's own config table, as it would be under [component.config]"`
}

// Config configures multi_source.
type Config struct {
	Streams        []StreamConfig `toml:"streams" doc:"streams open from the start ([[component.config.streams]] tables); the config file is trusted, so they skip the allow lists below"`
	MaxStreams     int            `toml:"max_streams" min:"1" max:"1024" doc:"most streams open at once; an add beyond it is refused"`
	EndWhenEmpty   bool           `toml:"end_when_empty" doc:"end the source's stream once no stream is left (the last one ended or was removed); false: wait for streams to be added until the pipeline drains"`
	QueueSize      int            `toml:"queue_size" min:"1" max:"4096" doc:"merged datamaps waiting for the pipeline before the streams wait"`
	AllowedImpls   []string       `toml:"allowed_impls" nonempty:"each" doc:"loaders a stream added at run time may use"`
	AllowedRoots   []ds3d.Path    `toml:"allowed_roots" doc:"folders every path of a stream added at run time must lie in, after resolving symbolic links (relative to the config file); empty: the config file's folder"`
	AllowedSchemes []string       `toml:"allowed_schemes" nonempty:"each" doc:"URI schemes a stream added at run time may use: file covers every file path, udp the UDP drivers' listen addresses, others (rtsp, http, srt, ws, …) network URIs"`
	AllowedHosts   []string       `toml:"allowed_hosts" nonempty:"each" doc:"hosts network URIs and UDP listen addresses of a stream added at run time may name, compared without case; 0.0.0.0 lets a UDP driver listen on every interface"`
}

// DefaultConfig is multi_source's defaults: 16 streams, the file, camera
// and lidar loaders, files under the config's folder, and network sources
// on this machine only.
func DefaultConfig() *Config {
	return &Config{
		MaxStreams: 16,
		QueueSize:  8,
		AllowedImpls: []string{"uri_source", "lidar_file_loader", "image_file_loader", "rgbd_file_loader", "pcap_file_loader",
			"velodyne_udp", "hesai_udp", "ouster_udp", "test_source"},
		AllowedSchemes: []string{"file", "rtsp", "rtsps", "udp"},
		AllowedHosts:   []string{"localhost", "127.0.0.1", "::1"},
	}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate checks the stream list: ids, impls, and the stream count.
func (c *Config) Validate() error {
	if len(c.Streams) > c.MaxStreams {
		return ds3d.ConfigErrorf("streams", "has %d streams, more than max_streams (%d)", len(c.Streams), c.MaxStreams)
	}
	seen := map[string]bool{}
	ids := map[int]bool{}
	for i, s := range c.Streams {
		key := fmt.Sprintf("streams[%d]", i)
		if s.ID != "" {
			if !idPattern.MatchString(s.ID) {
				return ds3d.ConfigErrorf(key+".id", "%q: want 1 to 64 letters, digits, '.', '_' or '-'", s.ID)
			}
			if seen[s.ID] {
				return ds3d.ConfigErrorf(key+".id", "%q is used by an earlier stream", s.ID)
			}
			seen[s.ID] = true
		}
		if s.SourceID != nil {
			if ids[*s.SourceID] {
				return ds3d.ConfigErrorf(key+".source_id", "%d is used by an earlier stream", *s.SourceID)
			}
			ids[*s.SourceID] = true
		}
		spec, ok := ds3d.Lookup(s.Impl)
		switch {
		case !ok:
			return ds3d.ConfigErrorf(key+".impl", "no loader %q is registered (ds3d components lists them)", s.Impl)
		case spec.Kind != ds3d.KindLoader:
			return ds3d.ConfigErrorf(key+".impl", "%q is a %s, not a loader", s.Impl, spec.Kind)
		case s.Impl == Impl:
			return ds3d.ConfigErrorf(key+".impl", "a %s cannot hold another", Impl)
		}
	}
	return nil
}
