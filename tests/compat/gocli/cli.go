// Package gocli holds what the Go client programs of the compatibility tests
// (franz-go, sarama) share: their command line and how they answer -- a JSON
// object on stdout, or the reason on stderr and exit status 1.
package gocli

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// Fail prints the reason on stderr and exits with status 1.
func Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// Emit prints v as one JSON object on stdout.
func Emit(v any) {
	if err := json.NewEncoder(os.Stdout).Encode(v); err != nil {
		Fail("encode: %v", err)
	}
}

// Atoi is s as a number; anything else fails the run.
func Atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		Fail("not a number: %q", s)
	}
	return n
}

// ModuleVersion is the version of the module at path the program was built
// with ("unknown" without build information).
func ModuleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "unknown"
}

// Args splits the command line `<program> <bootstrap> <command> [args]`.
func Args() (addr, cmd string, args []string) {
	if len(os.Args) < 3 {
		Fail("usage: %s <bootstrap> <command> [args]", os.Args[0])
	}
	return os.Args[1], os.Args[2], os.Args[3:]
}
