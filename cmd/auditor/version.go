package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ccaudit/auditor/internal/version"
)

func runVersion(_ context.Context, s streams, args []string) error {
	fs := newFlagSet(s, "version", "[--json]")
	asJSON := fs.Bool("json", false, "print the build information as one JSON object")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("version takes no arguments")
	}
	in := version.Get()
	if *asJSON {
		return json.NewEncoder(s.Stdout).Encode(in)
	}
	_, err = fmt.Fprintf(s.Stdout, "auditor %s %s\n", in, in.GoVersion)
	return err
}
