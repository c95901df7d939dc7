package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
		inf  Info
	}{
		{"plain build", debug.BuildInfo{GoVersion: "go1.26"}, "(devel)", Info{Version: "(devel)", GoVersion: "go1.26"}},
		{"vcs build", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}, {Key: "vcs.modified", Value: "true"}}},
			"(devel) (0123456789ab+dirty)", Info{Version: "(devel)", Revision: rev, Time: "2026-01-02T03:04:05Z", Modified: true}},
		{"pseudo-version carries the revision", debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20260102030405-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}}},
			"v0.0.0-20260102030405-0123456789ab", Info{Version: "v0.0.0-20260102030405-0123456789ab", Revision: rev}},
		{"release", debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3", Info{Version: "v1.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(&tt.bi)
			if got != tt.inf {
				t.Errorf("info = %+v, want %+v", got, tt.inf)
			}
			if s := got.String(); s != tt.want {
				t.Errorf("String() = %q, want %q", s, tt.want)
			}
		})
	}
}
