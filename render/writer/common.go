package writer

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// checkFilename checks a file name pattern: one integer verb, a name inside
// the output folder and, when exts is not empty, one of those extensions.
func checkFilename(key, pattern string, exts ...string) error {
	a, b := fmt.Sprintf(pattern, 1), fmt.Sprintf(pattern, 2)
	if strings.Contains(a, "%!") || a == b {
		return ds3d.ConfigErrorf(key, "must hold one integer verb such as %%06d, got %q", pattern)
	}
	if filepath.IsAbs(a) || strings.HasPrefix(filepath.Clean(a), "..") {
		return ds3d.ConfigErrorf(key, "must be a name inside output_dir, got %q", pattern)
	}
	if len(exts) == 0 {
		return nil
	}
	for _, e := range exts {
		if strings.HasSuffix(strings.ToLower(a), e) {
			return nil
		}
	}
	return ds3d.ConfigErrorf(key, "must end in %s, got %q", strings.Join(exts, ", "), pattern)
}

// warnOnce logs each key's problem the first time only.
type warnOnce struct {
	log  *slog.Logger
	seen map[ds3d.Key]bool
}

func (w *warnOnce) warn(k ds3d.Key, msg string) {
	if w.seen[k] {
		return
	}
	if w.seen == nil {
		w.seen = map[ds3d.Key]bool{}
	}
	w.seen[k] = true
	if w.log != nil {
		w.log.Warn(msg+"; warned once, later datamaps are skipped silently", "key", string(k))
	}
}

// boxes returns the boxes under k: nil with one warning when the key is
// missing, an error when it holds something else.
func (w *warnOnce) boxes(m *ds3d.DataMap, k ds3d.Key) ([]ds3d.Box3D, bool, error) {
	if !m.Has(k) {
		w.warn(k, "no boxes in the datamap")
		return nil, false, nil
	}
	b, err := ds3d.Get[[]ds3d.Box3D](m, k)
	return b, err == nil, err
}

// frameNumber is DS3D::FrameNumber, or the running count when absent.
func frameNumber(m *ds3d.DataMap, count int64) int64 {
	if n, err := m.Int64(ds3d.KeyFrameNumber); err == nil {
		return n
	}
	return count
}
