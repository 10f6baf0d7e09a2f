package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ParseBench reads `go test -bench` output: benchmark name (with the
// GOMAXPROCS suffix Go adds when it is not 1) → ns/op of each line, in order.
func ParseBench(out []byte) map[string][]float64 {
	res := map[string][]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if f[i+1] == "ns/op" {
				if v, err := strconv.ParseFloat(f[i], 64); err == nil {
					res[f[0]] = append(res[f[0]], v)
				}
				break
			}
		}
	}
	return res
}

// benchName is the name `go test -bench` prints for name run with
// GOMAXPROCS procs: Go appends "-procs" unless procs is 1.
func benchName(name string, procs int) string {
	if procs == 1 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, procs)
}

// median of xs (xs is not modified); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Parser turns a peer's output into ms per unit, one value per run or round.
type Parser func(out []byte) ([]float64, error)

// JSONField picks the JSON lines of out whose fields equal match (values
// compared as their JSON text, so numbers and strings both work; a value
// ending in "*" matches as a prefix) and returns field of each, multiplied
// by scale.
func JSONField(match map[string]string, field string, scale float64) Parser {
	return func(out []byte) ([]float64, error) {
		var vals []float64
		for line := range strings.SplitSeq(string(out), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "{") {
				continue
			}
			var m map[string]json.RawMessage
			if json.Unmarshal([]byte(line), &m) != nil {
				continue
			}
			ok := true
			for k, want := range match {
				got, has := m[k]
				g := strings.Trim(string(got), `"`)
				if p, prefix := strings.CutSuffix(want, "*"); !has || (prefix && !strings.HasPrefix(g, p)) || (!prefix && g != want) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			raw, has := m[field]
			if !has {
				continue
			}
			v, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return nil, fmt.Errorf("field %s = %s: %v", field, raw, err)
			}
			vals = append(vals, v*scale)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("no JSON line with %v and %q in the output", match, field)
		}
		return vals, nil
	}
}

// Regexp returns the first submatch of every match of re in out as a number,
// multiplied by scale.
func Regexp(re string, scale float64) Parser {
	rx := regexp.MustCompile(re)
	return func(out []byte) ([]float64, error) {
		var vals []float64
		for _, m := range rx.FindAllSubmatch(out, -1) {
			v, err := strconv.ParseFloat(string(m[1]), 64)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v*scale)
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("no match of %q in the output", re)
		}
		return vals, nil
	}
}

// Sum adds the first value of each parser's result: a peer whose time is
// the sum of two timed steps.
func Sum(ps ...Parser) Parser {
	return func(out []byte) ([]float64, error) {
		t := 0.0
		for _, p := range ps {
			v, err := p(out)
			if err != nil {
				return nil, err
			}
			t += median(v)
		}
		return []float64{t}, nil
	}
}
