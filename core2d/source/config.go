package source

import (
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
	URI              string  `toml:"uri" doc:"what to read: file:///path/clip.avi (Motion-JPEG AVI, pure Go; other AVI codecs go to ffmpeg), file:///path/clip.mp4|.mkv|.h264|.h265|.mov (ffmpeg), rtsp://host/path (ffmpeg), or an image sequence glob file:///path/*.jpg|*.png (frames in lexical order); a relative path is relative to the config file"`
	Loop             bool    `toml:"loop" doc:"start again at the first frame after the last (timestamps and frame numbers keep increasing); ignored for rtsp://"`
	MaxFrames        int     `toml:"max_frames" min:"0" doc:"end the stream after this many frames (over all loops); 0: no limit"`
	OutputFormat     string  `toml:"output_format" enum:"rgb|rgba" doc:"frame layout: rgb (u8, 3 bytes per pixel) or rgba (4, alpha 255)"`
	FrameRate        float64 `toml:"frame_rate" min:"0" unit:"Hz" doc:"emit at most this many frames per second (real-time pacing, for files); 0: as fast as decoding goes"`
	ImageRateHz      float64 `toml:"image_rate_hz" min:">0" unit:"Hz" doc:"rate that stamps image-sequence and MJPEG AVI frames lacking a rate: frame k at k/image_rate_hz s"`
	SourceID         int     `toml:"source_id" min:"0" doc:"DS3D::SourceId of the datamaps"`
	OnError          string  `toml:"on_error" enum:"fail|eos" doc:"what a bad input (missing file, corrupt frame, truncated video, unreachable URL) does: fail (the pipeline stops with the error) or eos (the error is logged, this source is marked failed and ends its stream; other sources go on)"`
	ds3d.OutputGroup `doc:"key of the colour frame"`
	ds3d.PoolGroup   `doc:"frames in flight before the source waits for one to come back"`
	HWAccel          string  `toml:"hwaccel" doc:"ffmpeg hardware decoding, passed as -hwaccel (e.g. cuda, vaapi); empty: software decoding"`
	DecodeThreads    int     `toml:"decode_threads" min:"0" doc:"ffmpeg decoder threads (-threads); 0: ffmpeg's choice"`
	TimeoutS         float64 `toml:"timeout_s" min:">0" unit:"s" doc:"network I/O timeout of rtsp:// and other URLs, seconds"`
}

// Default returns the defaults: rgb, fail on error, 30 Hz image stamping,
// a pool of 4 frames, 5 s network timeout.
func Default() Config {
	return Config{OutputFormat: "rgb", ImageRateHz: 30, OnError: "fail", OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyColorFrame)}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}, TimeoutS: 5}
}

// Validate checks the values and names the offending key.
func (c *Config) Validate() error {
	switch {
	case strings.TrimSpace(c.URI) == "":
		return ds3d.ConfigErrorf("uri", "is empty; give file:///path/clip.mp4, rtsp://host/path or file:///path/*.jpg")
	}
	return nil
}
