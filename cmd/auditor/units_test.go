package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/netnstest"
)

const (
	captureUnit = "../../capture/live/examples/auditor-capture.service"
	reportUnit  = "../../report/compliance/examples/auditor-report.service"
	reportTimer = "../../report/compliance/examples/auditor-report.timer"
)

// unit is a systemd unit file's settings: key -> values in order, with
// backslash continuations joined.
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := map[string][]string{}
	sc := bufio.NewScanner(f)
	var line string
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "[") || l == "" {
			continue
		}
		if cut, ok := strings.CutSuffix(l, "\\"); ok {
			line += cut + " "
			continue
		}
		line += l
		k, v, _ := strings.Cut(line, "=")
		u[k] = append(u[k], v)
		line = ""
	}
	return u
}

// envOf reads a unit's Environment=NAME=VALUE settings.
func envOf(u map[string][]string) map[string]string {
	env := map[string]string{}
	for _, e := range u["Environment"] {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	return env
}

var unitVar = regexp.MustCompile(`\$\{([A-Z_]+)\}`)

// systemdExpand does what systemd does to an ExecStart line before running
// it: ${NAME} from Environment=, then $$ -> $ and %% -> %.
func systemdExpand(s string, env map[string]string) string {
	s = unitVar.ReplaceAllStringFunc(s, func(m string) string { return env[m[2:len(m)-1]] })
	return strings.NewReplacer("$$", "$", "%%", "%").Replace(s)
}

// The capture unit, the report unit and its timer agree on one layout,
// every directory a unit writes is created by it under ProtectSystem=strict,
// and the report unit's command, run as systemd would run it, turns what
// the capture wrote (after a rotation) into reports.
func TestSystemdUnitsTogether(t *testing.T) {
	capU, repU, timer := readUnit(t, captureUnit), readUnit(t, reportUnit), readUnit(t, reportTimer)
	env := envOf(repU)
	capArgs := strings.Fields(capU["ExecStart"][0])
	capOut := ""
	for i, a := range capArgs {
		if a == "--out" && i+1 < len(capArgs) {
			capOut = capArgs[i+1]
		}
	}
	if capArgs[0] != "/usr/local/bin/auditor" || capArgs[1] != "capture" {
		t.Errorf("capture unit runs %v", capArgs[:2])
	}
	if capOut == "" || capOut != env["IN"] {
		t.Errorf("capture writes %q, the report reads %q: one layout", capOut, env["IN"])
	}
	for _, c := range []struct {
		u     map[string][]string
		name  string
		dir   string
		state string
	}{{capU, "capture", capOut, "auditor/out"}, {repU, "report", env["REPORTS"], "auditor/reports"}} {
		if got := c.u["ProtectSystem"]; len(got) != 1 || got[0] != "strict" {
			t.Errorf("%s unit: ProtectSystem=%v", c.name, got)
		}
		// StateDirectory=X creates /var/lib/X and makes it writable.
		if sd := c.u["StateDirectory"]; len(sd) != 1 || sd[0] != c.state || "/var/lib/"+sd[0] != c.dir {
			t.Errorf("%s unit: StateDirectory=%v does not create its output %s", c.name, sd, c.dir)
		}
	}
	if !strings.Contains(repU["ExecStart"][0], "/usr/local/bin/auditor report") || timer["OnCalendar"] == nil || timer["Persistent"][0] != "true" {
		t.Errorf("report unit or timer: %v %v", repU["ExecStart"], timer)
	}

	// Capture into a directory, rotate once, stop.
	pair := netnstest.NewPair(t)
	in := t.TempDir()
	logs, stop := startCapture(t, pair, "--engine", "afpacket", "--out", in, "--sensor", "unit", "--site", "../../testdata/demo-site.yaml")
	if _, err := pair.Traffic(); err != nil {
		stop()
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "rotated output") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("capture: exit %d\n%s", code, logs)
	}

	// The report unit's command, with the paths moved into the test and
	// "yesterday" being today, as the capture just wrote today.
	bin := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\nAUDITOR_TEST_MAIN=1 exec %s \"$@\"\n", exe)
	os.WriteFile(filepath.Join(bin, "auditor"), []byte(script), 0o755)
	os.WriteFile(filepath.Join(bin, "date"), []byte("#!/bin/sh\nexec /bin/date -u +%F\n"), 0o755)
	reports := filepath.Join(t.TempDir(), "reports")
	os.Mkdir(reports, 0o755) // systemd's StateDirectory= would create it
	env["IN"], env["REPORTS"], env["SITE"] = in, reports, "../../testdata/demo-site.yaml"
	cmdline := systemdExpand(repU["ExecStart"][0], env)
	shell, ok := strings.CutPrefix(cmdline, "/bin/sh -c '")
	shell, ok2 := strings.CutSuffix(shell, "'")
	if !ok || !ok2 {
		t.Fatalf("ExecStart is not /bin/sh -c '...': %s", cmdline)
	}
	shell = strings.ReplaceAll(shell, "/usr/local/bin/auditor", filepath.Join(bin, "auditor"))
	cmd := exec.Command("/bin/sh", "-c", shell)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("report unit command: %v\n%s", err, out)
	}
	day := time.Now().UTC().Format("2006-01-02")
	for _, name := range []string{"report-" + day + ".html", "report-" + day + ".json", "latest.json"} {
		data, err := os.ReadFile(filepath.Join(reports, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		var r struct {
			Capture struct {
				Sensors []struct {
					Name  string
					Files int
					Flows int64
				}
			}
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Two windows (the rotation's and the shutdown's) of three tables.
		if s := r.Capture.Sensors; len(s) != 1 || s[0].Name != "unit" || s[0].Files != 6 || s[0].Flows == 0 {
			t.Errorf("%s: sensors %+v, want the capture's two windows", name, s)
		}
	}
}
