package msgconv

import (
	"os"
	"testing"
)

func seed(f *testing.F, files ...string) {
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// The decoders read what a broker hands them: any bytes must give a value
// or an error, never a panic, and what they accept must encode again.

func FuzzDecodeFull(f *testing.F) {
	seed(f, "testdata/deepstream_full_test4.json")
	f.Add([]byte(`{"messageid":"x","mdsversion":"1.0","@timestamp":"2021-03-31T20:11:07.742Z","object":{"id":"3","cone":{}}}`))
	enc := NewEncoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeFull(b)
		if err != nil {
			return
		}
		if _, err := DecodeFull(enc.AppendFull(nil, e)); err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
	})
}

func FuzzDecodeMinimal(f *testing.F) {
	seed(f, "testdata/deepstream_minimal.json")
	f.Add([]byte(`{"version":"4.0","id":3,"@timestamp":"2018-04-11T04:59:59.828Z","sensorId":"s","objects":["-1|1|2|3|4|Person|#|male|30|short|none|coat|0.5","2|0|0|1|1|cone"]}`))
	enc := NewEncoder()
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeMinimal(b)
		if err != nil || len(es) == 0 {
			return
		}
		_ = enc.AppendMinimal(nil, es)
	})
}

func FuzzDecodeJSON(f *testing.F) {
	seed(f, "testdata/detection3d_example.json")
	for _, b := range schemaCases() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeJSON(b)
		if err != nil {
			return
		}
		if _, err := DecodeJSON(EncodeJSON(nil, &d.Header, d.Boxes, d.World)); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
	})
}

func FuzzUnmarshalProto(f *testing.F) {
	seed(f, "testdata/detection3d_example.pb")
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalProto(b)
		if err != nil {
			return
		}
		if _, err := MarshalProto(nil, &d.Header, d.Boxes, d.World); err != nil {
			t.Fatal(err)
		}
	})
}
