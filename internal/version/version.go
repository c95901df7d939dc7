// Package version reports which build of auditor is running, from the build
// information the Go toolchain embeds in every binary: the module version
// (a tag or pseudo-version for go install and for go build in a git
// checkout, "(devel)" otherwise) and the VCS revision, time and dirty flag
// when the build recorded them (go build's default -buildvcs=auto does in a
// git checkout).
package version

import (
	"runtime/debug"
	"strings"
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`            // module version, "(devel)" when unknown
	Revision  string `json:"revision,omitempty"` // VCS revision (commit hash)
	Time      string `json:"time,omitempty"`     // commit time, RFC 3339
	Modified  bool   `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	GoVersion string `json:"go"`                 // toolchain
}

// Get reads the build information of the running binary.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(devel)"}
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Revision = s.Value
		case "vcs.time":
			in.Time = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	return in
}

// String is the one-line form: the version, then the revision (shortened
// to 12 digits, "+dirty" when modified) if the version does not already
// carry it, as a pseudo-version does.
func (in Info) String() string {
	var b strings.Builder
	b.WriteString(in.Version)
	if rev := in.Short(); rev != "" && !strings.Contains(in.Version, rev) {
		b.WriteString(" (")
		b.WriteString(rev)
		if in.Modified {
			b.WriteString("+dirty")
		}
		b.WriteString(")")
	}
	return b.String()
}

// Short is the revision cut to 12 hex digits, as Go pseudo-versions write
// it; empty when unknown.
func (in Info) Short() string {
	if len(in.Revision) > 12 {
		return in.Revision[:12]
	}
	return in.Revision
}
