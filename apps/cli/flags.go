package cli

import (
	"errors"
	"flag"
)

// parseArgs parses args with fs, letting flags follow operands as well as
// precede them (ds3d infer MODEL.onnx --input X.bin), which the flag package
// alone does not: it stops at the first operand. A "--" ends the flags; what
// follows it is operands even if it starts with "-". Afterwards fs.Args()
// holds the operands in order. ok is false when the command should stop
// with code: 0 after -h/--help (the usage was printed), 2 after a usage
// error (the flag package printed it).
func parseArgs(fs *flag.FlagSet, args []string) (code int, ok bool) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0, false
			}
			return 2, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			operands = append(operands, rest...)
			break
		}
		operands = append(operands, rest[0])
		args = rest[1:]
	}
	// Leave the operands where callers look for them: "--" sets no flag.
	_ = fs.Parse(append([]string{"--"}, operands...))
	return 0, true
}
