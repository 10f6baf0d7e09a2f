package calib

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// DecodeJSON unmarshals data into v. Its errors start with "calib name:" and
// say where the fault is as line, column and byte offset (syntax errors,
// values of the wrong type). Dataset readers use it for their JSON files
// too, with their own prefix in what (e.g. "dair"); an empty what means
// "calib".
func DecodeJSON(what, name string, data []byte, v any) error {
	if what == "" {
		what = "calib"
	}
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off := max(se.Offset-1, 0) // Offset counts the bytes read, the bad one included
		l, c := lineCol(data, off)
		return fmt.Errorf("%s %s: line %d, column %d (byte %d): %w", what, name, l, c, off, err)
	case errors.As(err, &te):
		l, c := lineCol(data, te.Offset)
		return fmt.Errorf("%s %s: line %d, column %d (byte %d): %w", what, name, l, c, te.Offset, err)
	}
	return fmt.Errorf("%s %s: %w", what, name, err)
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// readJSON reads and decodes a calibration JSON file.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("calib %s: %w", path, err)
	}
	return DecodeJSON("calib", path, data, v)
}

// matrix is a JSON matrix in any nesting the calibration files use: a flat
// list ([1, 2, 3]), rows ([[1, 2], [3, 4]]) or a column ([[1], [2], [3]]).
// It is kept raw and checked when read, so that errors can name the key.
type matrix json.RawMessage

// UnmarshalJSON keeps a copy of the raw value.
func (m *matrix) UnmarshalJSON(b []byte) error {
	*m = append((*m)[:0], b...)
	return nil
}

// Set reports whether the matrix was present (and not null) in the JSON.
func (m matrix) Set() bool {
	t := bytes.TrimSpace(m)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// Values returns the values row-major with the number of rows and columns
// (a flat list is one row).
func (m matrix) Values() (data []float64, rows, cols int, err error) {
	var flat []float64
	if err := json.Unmarshal(m, &flat); err == nil {
		return flat, 1, len(flat), nil
	}
	var nested [][]float64
	if err := json.Unmarshal(m, &nested); err != nil {
		return nil, 0, 0, errors.New("want a list of numbers or a list of rows of numbers")
	}
	for i, r := range nested {
		if i == 0 {
			cols = len(r)
		} else if len(r) != cols {
			return nil, 0, 0, fmt.Errorf("row %d has %d values, row 1 has %d", i+1, len(r), cols)
		}
		data = append(data, r...)
	}
	return data, len(nested), cols, nil
}

// want returns m's values, checking that there are n of them (for any n
// given; any nesting) and that they are finite; name is the file and key the
// field, for errors.
func (m matrix) want(name, key string, n ...int) ([]float64, error) {
	if !m.Set() {
		return nil, fmt.Errorf("calib %s: missing %s", name, key)
	}
	data, rows, cols, err := m.Values()
	if err != nil {
		return nil, fmt.Errorf("calib %s: %s: %w", name, key, err)
	}
	ok := false
	for _, k := range n {
		ok = ok || len(data) == k
	}
	if !ok {
		got := fmt.Sprintf("%d×%d", rows, cols)
		if rows == 1 {
			got = fmt.Sprintf("%d values", cols)
		}
		return nil, fmt.Errorf("calib %s: %s is %s, want %s", name, key, got, wantShape(n))
	}
	if !finite(data) {
		return nil, fmt.Errorf("calib %s: %s has a value that is not finite", name, key)
	}
	return data, nil
}

func wantShape(n []int) string {
	s := ""
	for i, k := range n {
		if i > 0 {
			s += " or "
		}
		switch k {
		case 9:
			s += "3×3"
		case 12:
			s += "3×4"
		case 16:
			s += "4×4"
		default:
			s += fmt.Sprintf("%d values", k)
		}
	}
	return s
}
