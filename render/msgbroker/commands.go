package msgbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// CommandVersion is the version of the command schema
// (docs/schema/ds3d-command-1.0.schema.json) this build reads; a command of
// another version is refused, never guessed at.
const CommandVersion = 1

// The commands.
const (
	CmdSet         = "set"          // change runtime-updatable config keys
	CmdRecordStart = "record_start" // start an event recording
	CmdRecordStop  = "record_stop"  // end it before its duration
	CmdSwapModel   = "swap_model"   // load a model and run it from the next frame on
)

// maxIDLen bounds a command id: it is logged and echoed in replies.
const maxIDLen = 128

// Command is one cloud-to-device command, decoded and checked.
type Command struct {
	Version   int            `json:"version"`
	ID        string         `json:"id"`
	Command   string         `json:"command"`
	Component string         `json:"component"`
	Config    map[string]any `json:"config,omitempty"`     // set: config keys → values (as TOML decodes them)
	BeforeS   *float64       `json:"before_s,omitempty"`   // record_start: seconds kept from before the command
	DurationS *float64       `json:"duration_s,omitempty"` // record_start: seconds recorded from the command on; 0 or absent: the recorder's default
	Path      string         `json:"path,omitempty"`       // swap_model: model file, relative to the component's models_dir
	SHA256    string         `json:"sha256,omitempty"`     // swap_model: optional SHA-256 of the file, hex
}

// DecodeCommand reads one command from a message body: a JSON object of the
// schema's version, with the fields its command needs and no others. The
// error says what is wrong and, when the body names one, carries the id
// (CommandError), so a refusal can be logged and answered by id.
func DecodeCommand(body []byte) (*Command, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var c Command
	if err := dec.Decode(&c); err != nil {
		return nil, &CommandError{ID: peekID(body), Err: fmt.Errorf("not a command object: %w", err)}
	}
	if dec.More() {
		return nil, &CommandError{ID: c.ID, Err: errors.New("more than one JSON value in the message")}
	}
	if err := c.check(); err != nil {
		return nil, &CommandError{ID: c.ID, Err: err}
	}
	if c.Config != nil {
		c.Config = config.FromJSON(c.Config).(map[string]any)
	}
	return &c, nil
}

// CommandError is a command refused: malformed, unknown, or failed when
// applied. ID is the command's id, "" when the body did not give one.
type CommandError struct {
	ID  string
	Err error
}

func (e *CommandError) Error() string {
	if e.ID == "" {
		return "command: " + e.Err.Error()
	}
	return fmt.Sprintf("command %q: %v", e.ID, e.Err)
}

func (e *CommandError) Unwrap() error { return e.Err }

// peekID finds the id of a body that is not a valid command, for the log.
func peekID(body []byte) string {
	var v struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if s, ok := v.ID.(string); ok && len(s) <= maxIDLen && utf8.ValidString(s) {
		return s
	}
	return ""
}

func (c *Command) check() error {
	switch {
	case c.Version != CommandVersion:
		return fmt.Errorf("version %d: this device reads version %d", c.Version, CommandVersion)
	case c.ID == "":
		return errors.New("no id")
	case len(c.ID) > maxIDLen:
		return fmt.Errorf("id of %d bytes, at most %d", len(c.ID), maxIDLen)
	case c.Component == "":
		return errors.New("no component")
	}
	// Fields of other commands are refused rather than ignored: a sender
	// who wrote them meant something this command does not do.
	extra := func(names ...string) error {
		var has []string
		for _, n := range names {
			switch {
			case n == "config" && c.Config != nil,
				n == "before_s" && c.BeforeS != nil,
				n == "duration_s" && c.DurationS != nil,
				n == "path" && c.Path != "",
				n == "sha256" && c.SHA256 != "":
				has = append(has, n)
			}
		}
		if len(has) > 0 {
			return fmt.Errorf("%s takes no %s", c.Command, strings.Join(has, ", "))
		}
		return nil
	}
	switch c.Command {
	case CmdSet:
		if len(c.Config) == 0 {
			return errors.New("set: config names no key")
		}
		return extra("before_s", "duration_s", "path", "sha256")
	case CmdRecordStart:
		if c.BeforeS != nil && !(*c.BeforeS >= 0 && *c.BeforeS <= 3600) {
			return fmt.Errorf("record_start: before_s %v is not in [0, 3600]", *c.BeforeS)
		}
		if c.DurationS != nil && !(*c.DurationS >= 0 && *c.DurationS <= 86400) {
			return fmt.Errorf("record_start: duration_s %v is not in [0, 86400]", *c.DurationS)
		}
		return extra("config", "path", "sha256")
	case CmdRecordStop:
		return extra("config", "before_s", "duration_s", "path", "sha256")
	case CmdSwapModel:
		if c.Path == "" {
			return errors.New("swap_model: no path")
		}
		if c.SHA256 != "" && (len(c.SHA256) != 64 || strings.Trim(strings.ToLower(c.SHA256), "0123456789abcdef") != "") {
			return fmt.Errorf("swap_model: sha256 %q is not 64 hex digits", c.SHA256)
		}
		return extra("config", "before_s", "duration_s")
	case "":
		return errors.New("no command")
	}
	return fmt.Errorf("unknown command %q (known: set, record_start, record_stop, swap_model)", c.Command)
}

// seconds turns a checked number of seconds into a duration.
func seconds(p *float64) time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(math.Round(*p * 1e9))
}

// recorder is what record_start and record_stop call on the named
// component (smart_record).
type recorder interface {
	StartRecording(id string, before, duration time.Duration) error
	StopRecording(id string) error
}

// modelSwapper is what swap_model calls on the named component (lidar_infer,
// infer_2d): it loads the model on the caller's goroutine and has the
// component switch to it between two datamaps.
type modelSwapper interface {
	SwapModel(ctx context.Context, path, sha256 string) error
}

// Dispatch applies a checked command to the pipeline it names a component
// of. Its error says why the command was refused (unknown component, a
// component that does not take the command, the component's own refusal).
func Dispatch(ctx context.Context, p ds3d.Pipeline, c *Command) error {
	if p == nil {
		return errors.New("not running in a pipeline")
	}
	if c.Command == CmdSet {
		return p.UpdateConfig(ctx, c.Component, c.Config)
	}
	comp := p.Component(c.Component)
	if comp == nil {
		return fmt.Errorf("no component %q in the pipeline", c.Component)
	}
	switch c.Command {
	case CmdRecordStart, CmdRecordStop:
		r, ok := comp.(recorder)
		if !ok {
			return fmt.Errorf("component %q (%T) does not record (a smart_record component does)", c.Component, comp)
		}
		if c.Command == CmdRecordStart {
			return r.StartRecording(c.ID, seconds(c.BeforeS), seconds(c.DurationS))
		}
		return r.StopRecording(c.ID)
	case CmdSwapModel:
		s, ok := comp.(modelSwapper)
		if !ok {
			return fmt.Errorf("component %q (%T) cannot swap models (lidar_infer and infer_2d can)", c.Component, comp)
		}
		return s.SwapModel(ctx, c.Path, c.SHA256)
	}
	return fmt.Errorf("unknown command %q", c.Command)
}

// Reply is the answer to a command, sent on reply_topic when one is set.
type Reply struct {
	Version   int    `json:"version"`
	ID        string `json:"id"`
	Command   string `json:"command,omitempty"`
	Component string `json:"component,omitempty"`
	OK        bool   `json:"ok"`
	Error     string `json:"error,omitempty"`
}
