package msgconv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
	pb "github.com/ds3d-go/ds3d-go/sensors/msgconv/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestProtoGeneratedFresh checks that proto/ds3d_detection3d.pb.go belongs
// to proto/ds3d_detection3d.proto. With DS3D_PROTOC=1 it regenerates the
// file with protoc and protoc-gen-go (both on PATH) and compares the bytes;
// otherwise it compares every message, field name, number, type and
// cardinality the .proto declares with the descriptor embedded in the
// generated Go, which catches an edit to the .proto without `go generate`.
func TestProtoGeneratedFresh(t *testing.T) {
	src, err := os.ReadFile("proto/ds3d_detection3d.proto")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("DS3D_PROTOC") == "1" {
		protoc := testenv.Tool(t, "protoc", "apt-get install protobuf-compiler")
		testenv.Tool(t, "protoc-gen-go", "go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12")
		dir := t.TempDir()
		testenv.Output(t, exec.Command(protoc, "-I", "proto", "--go_out="+dir, "--go_opt=paths=source_relative", "ds3d_detection3d.proto"))
		got, err := os.ReadFile(filepath.Join(dir, "ds3d_detection3d.pb.go"))
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile("proto/ds3d_detection3d.pb.go")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, have) {
			t.Fatal("proto/ds3d_detection3d.pb.go is stale: run go generate ./sensors/msgconv")
		}
	}
	declared := declaredFields(t, src)
	fd := pb.File_ds3d_detection3d_proto
	embedded := map[string]string{}
	msgs := fd.Messages()
	for i := range msgs.Len() {
		m := msgs.Get(i)
		fs := m.Fields()
		embedded[string(m.Name())] = ""
		for k := range fs.Len() {
			f := fs.Get(k)
			typ := f.Kind().String()
			if f.Kind() == protoreflect.MessageKind {
				typ = string(f.Message().Name())
			}
			card := ""
			if f.Cardinality() == protoreflect.Repeated {
				card = "repeated "
			}
			embedded[string(m.Name())+"."+string(f.Name())] = card + typ + " " + strconv.Itoa(int(f.Number()))
		}
	}
	if string(fd.Package()) != "ds3d.msgconv.v1" {
		t.Errorf("embedded package %s", fd.Package())
	}
	for k, v := range declared {
		if embedded[k] != v {
			t.Errorf("%s: .proto says %q, generated Go %q: run go generate ./sensors/msgconv", k, v, embedded[k])
		}
	}
	for k := range embedded {
		if _, ok := declared[k]; !ok {
			t.Errorf("%s is in the generated Go but not in the .proto: run go generate ./sensors/msgconv", k)
		}
	}
}

var (
	reMessage = regexp.MustCompile(`^message (\w+) \{$`)
	reField   = regexp.MustCompile(`^(repeated )?(\w+) (\w+) = (\d+);$`)
)

// declaredFields reads the .proto's flat messages: "Msg" and
// "Msg.field" → "[repeated ]type number".
func declaredFields(t *testing.T, src []byte) map[string]string {
	out := map[string]string{}
	msg := ""
	for i, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if m := reMessage.FindStringSubmatch(line); m != nil {
			msg = m[1]
			out[msg] = ""
			continue
		}
		if line == "}" {
			msg = ""
			continue
		}
		if m := reField.FindStringSubmatch(line); m != nil {
			if msg == "" {
				t.Fatalf("proto line %d: field outside a message", i+1)
			}
			out[msg+"."+m[3]] = m[1] + m[2] + " " + m[4]
		}
	}
	return out
}
