package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestInspectBag: rosbag2's talker bag holds 10 std_msgs/String on /topic
// and 10 rcl_interfaces/Log on /rosout (its metadata.yaml); the wrong_rmw
// bag is refused.
func TestInspectBag(t *testing.T) {
	dir := sampledata.Shared(t, "ros2-bags/talker")
	code, out, errs := runCmd(t, "inspect", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"messages:        20", "/topic  std_msgs/msg/String  10 msgs", "/rosout  rcl_interfaces/msg/Log  10 msgs"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCmd(t, "inspect", "--json", dir)
	if code != 0 {
		t.Fatalf("--json: exit %d: %s", code, errs)
	}
	var info struct {
		Messages int
		Topics   []struct {
			Name     string
			Type     string
			Messages int
		}
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil || info.Messages != 20 || len(info.Topics) != 3 {
		t.Errorf("--json: %v %+v\n%s", err, info, out)
	}
	code, _, errs = runCmd(t, "inspect", sampledata.Shared(t, "ros2-bags/wrong_rmw_test"))
	if code == 0 || !strings.Contains(errs, `"wrong_format" is not CDR`) {
		t.Errorf("wrong_rmw_test: exit %d, stderr %q", code, errs)
	}
}
