package ebpf

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sensorTunnelPorts reads the UDP tunnel ports of c/sensor.c: the cases of
// tunnel_port and the bounds of its range test.
func sensorTunnelPorts(t *testing.T) (ports []int, lo, hi int) {
	t.Helper()
	src, err := os.ReadFile("c/sensor.c")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	start := strings.Index(s, "bool tunnel_port(__u16 port)")
	if start < 0 {
		t.Fatal("c/sensor.c: no tunnel_port function")
	}
	body := s[start:]
	end := strings.Index(body, "\n}\n")
	if end < 0 {
		t.Fatal("c/sensor.c: tunnel_port has no closing brace on a line of its own")
	}
	body = body[:end]
	for _, m := range regexp.MustCompile(`case (\d+):`).FindAllStringSubmatch(body, -1) {
		p, _ := strconv.Atoi(m[1])
		ports = append(ports, p)
	}
	define := func(name string) int {
		m := regexp.MustCompile(`#define ` + name + ` (\d+)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("c/sensor.c: no #define %s", name)
		}
		v, _ := strconv.Atoi(m[1])
		return v
	}
	slices.Sort(ports)
	return ports, define("TUNNEL_PORT_MIN"), define("TUNNEL_PORT_MAX")
}

// decoderTunnelPorts reads the decoder's tunnel ports from its source:
// the constants tunnelPortOne's switch names, the set its fast path
// leaves to the layers that open tunnels. The sensor must send the same
// set to the ring, since the decoder, not the kernel, opens those tunnels.
func decoderTunnelPorts(t *testing.T) []int {
	t.Helper()
	files, err := filepath.Glob("../../decode/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("capture/decode sources: %v", err)
	}
	consts := map[string]int{}
	var cases []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i >= len(vs.Values) {
							continue
						}
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.INT {
							if v, err := strconv.Atoi(lit.Value); err == nil {
								consts[name.Name] = v
							}
						}
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name != "tunnelPortOne" {
					continue
				}
				ast.Inspect(d.Body, func(n ast.Node) bool {
					if cc, ok := n.(*ast.CaseClause); ok {
						for _, e := range cc.List {
							id, ok := e.(*ast.Ident)
							if !ok {
								t.Fatalf("%s: tunnelPortOne case %T is not a constant name", fset.Position(e.Pos()), e)
							}
							cases = append(cases, id.Name)
						}
					}
					return true
				})
			}
		}
	}
	var ports []int
	for _, name := range cases {
		v, ok := consts[name]
		if !ok {
			t.Fatalf("capture/decode: tunnelPortOne names %s, not an integer constant", name)
		}
		ports = append(ports, v)
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// TestTunnelPortsMatchDecoder pins the kernel's list of UDP tunnel ports
// to the decoder's: a port the decoder opens but the kernel counts would
// turn the tunnel's packets after the first ones into an outer UDP flow.
func TestTunnelPortsMatchDecoder(t *testing.T) {
	kernel, lo, hi := sensorTunnelPorts(t)
	decoder := decoderTunnelPorts(t)
	if len(decoder) < 6 {
		t.Fatalf("found only %v as the decoder's tunnel ports: has capture/decode renamed tunnelPortOne?", decoder)
	}
	if !slices.Equal(kernel, decoder) {
		t.Errorf("c/sensor.c tunnel_port has %v, the decoder opens tunnels on %v", kernel, decoder)
	}
	if len(kernel) > 0 && (lo != kernel[0] || hi != kernel[len(kernel)-1]) {
		t.Errorf("tunnel_port's range test [%d, %d] does not span its ports %v", lo, hi, kernel)
	}
}
