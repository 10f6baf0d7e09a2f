package source

import (
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures uri_source. Output datamaps carry:
//
//   - DS3D::ColorFrame (or output_datamap_key): the decoded frame, a pooled
//     u8 image frame of FrameColorRGB (3 bytes per pixel) or FrameColorRGBA
//     (4, alpha 255), tightly packed rows — the layout image_file_loader
//     gives;
//   - DS3D::Timestamp: the frame's PTS in ns from the stream start (video
//     files and streams: the stream's own PTS; image sequences and MJPEG
//     AVI: k/rate), increasing across loops;
//   - DS3D::FrameNumber: 0, 1, 2, … counted over loops;
//   - DS3D::SourceId: source_id;
//   - DS3D::FirstSourceFrame = 1 on the first datamap.
//
// The stream ends (io.EOF, end of stream downstream) after the last frame,
// after max_frames, or — with on_error = "eos" — at the first error.
type Config struct {
	URI           string  `toml:"uri" doc:"what to read: file:///path/clip.avi (Motion-JPEG AVI, pure Go; other AVI codecs go to ffmpeg), file:///path/clip.mp4|.mkv|.h264|.h265|.mov (ffmpeg), rtsp://host/path (ffmpeg), or an image sequence glob file:///path/*.jpg|*.png (frames in lexical order); a relative path is relative to the config file"`
	Loop          bool    `toml:"loop" doc:"start again at the first frame after the last (timestamps and frame numbers keep increasing); ignored for rtsp://"`
	MaxFrames     int     `toml:"max_frames" doc:"end the stream after this many frames (over all loops); 0: no limit"`
	OutputFormat  string  `toml:"output_format" doc:"frame layout: rgb (u8, 3 bytes per pixel) or rgba (4, alpha 255)"`
	FrameRate     float64 `toml:"frame_rate" doc:"emit at most this many frames per second (real-time pacing, for files); 0: as fast as decoding goes"`
	ImageRateHz   float64 `toml:"image_rate_hz" doc:"rate that stamps image-sequence and MJPEG AVI frames lacking a rate: frame k at k/image_rate_hz s"`
	SourceID      int     `toml:"source_id" doc:"DS3D::SourceId of the datamaps"`
	OnError       string  `toml:"on_error" doc:"what a bad input (missing file, corrupt frame, truncated video, unreachable URL) does: fail (the pipeline stops with the error) or eos (the error is logged, this source is marked failed and ends its stream; other sources go on)"`
	OutputKey     string  `toml:"output_datamap_key" doc:"key of the colour frame"`
	MemPoolSize   int     `toml:"mem_pool_size" doc:"frames in flight before the source waits for one to come back"`
	HWAccel       string  `toml:"hwaccel" doc:"ffmpeg hardware decoding, passed as -hwaccel (e.g. cuda, vaapi); empty: software decoding"`
	DecodeThreads int     `toml:"decode_threads" doc:"ffmpeg decoder threads (-threads); 0: ffmpeg's choice"`
	TimeoutS      float64 `toml:"timeout_s" doc:"network I/O timeout of rtsp:// and other URLs, seconds"`
}

// Default returns the defaults: rgb, fail on error, 30 Hz image stamping,
// a pool of 4 frames, 5 s network timeout.
func Default() Config {
	return Config{OutputFormat: "rgb", ImageRateHz: 30, OnError: "fail", OutputKey: string(ds3d.KeyColorFrame), MemPoolSize: 4, TimeoutS: 5}
}

// Validate checks the values and names the offending key.
func (c *Config) Validate() error {
	switch {
	case strings.TrimSpace(c.URI) == "":
		return ds3d.ConfigErrorf("uri", "is empty; give file:///path/clip.mp4, rtsp://host/path or file:///path/*.jpg")
	case c.OutputFormat != "rgb" && c.OutputFormat != "rgba":
		return ds3d.ConfigErrorf("output_format", "is %q, want \"rgb\" or \"rgba\"", c.OutputFormat)
	case c.OnError != "fail" && c.OnError != "eos":
		return ds3d.ConfigErrorf("on_error", "is %q, want \"fail\" or \"eos\"", c.OnError)
	case c.MaxFrames < 0:
		return ds3d.ConfigErrorf("max_frames", "is %d, want ≥ 0", c.MaxFrames)
	case !(c.FrameRate >= 0) || math.IsInf(c.FrameRate, 0):
		return ds3d.ConfigErrorf("frame_rate", "is %v, want a finite value ≥ 0", c.FrameRate)
	case !(c.ImageRateHz > 0) || math.IsInf(c.ImageRateHz, 0):
		return ds3d.ConfigErrorf("image_rate_hz", "is %v, want a finite value > 0", c.ImageRateHz)
	case c.MemPoolSize < 1:
		return ds3d.ConfigErrorf("mem_pool_size", "is %d, want ≥ 1", c.MemPoolSize)
	case c.OutputKey == "":
		return ds3d.ConfigErrorf("output_datamap_key", "is empty")
	case c.DecodeThreads < 0:
		return ds3d.ConfigErrorf("decode_threads", "is %d, want ≥ 0", c.DecodeThreads)
	case !(c.TimeoutS > 0) || math.IsInf(c.TimeoutS, 0):
		return ds3d.ConfigErrorf("timeout_s", "is %v, want a finite value > 0", c.TimeoutS)
	case c.SourceID < 0:
		return ds3d.ConfigErrorf("source_id", "is %d, want ≥ 0", c.SourceID)
	}
	return nil
}
