package lidar

import (
	"bytes"
	"strconv"
)

// XYZ text files (Open3D's .xyz): one point per line, x y z separated by
// spaces; further columns, whose meaning varies between tools, are ignored.
func init() {
	RegisterFormat("xyz", []string{".xyz"}, nil, decodeXYZ)
}

func decodeXYZ(c *Cloud, name string, data []byte, opts ReadOptions) error {
	if opts.IntensityField != "" {
		return lineErr("xyz", name, 1, "xyz files have no field %q to read as intensity", opts.IntensityField)
	}
	n := 0
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	pts := c.Resize(n)
	i, lineNo := 0, 0
	for rest := data; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		for k := 0; k < 3; k++ {
			var tok []byte
			if tok, line = nextToken(line); tok == nil {
				return lineErr("xyz", name, lineNo, "%d values: expected x y z", k)
			}
			v, err := strconv.ParseFloat(string(tok), 64)
			if err != nil {
				return lineErr("xyz", name, lineNo, "%q is not a number", tok)
			}
			pts[i*4+k] = float32(v)
		}
		pts[i*4+3] = 0
		i++
	}
	for _, nm := range [...]string{"x", "y", "z"} {
		c.addField(nm, Float32, 1, 0)
	}
	c.Encoding = "ascii"
	return nil
}
