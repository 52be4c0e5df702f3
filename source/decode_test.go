package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// snapshotInputs are docker-inspect snapshots as Docker and rproxy-gen
// print them: the README's example, the real object the fixture holds,
// real-shaped snapshots of many objects, and the same compacted.
func snapshotInputs(t testing.TB) map[string][]byte {
	t.Helper()
	in := map[string][]byte{}
	for _, f := range []string{"example.json", "inspect-real.json", "empty.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		in[f] = b
	}
	in["real-shaped 300"] = realSnapshot(t, 300)
	var compact bytes.Buffer
	if err := json.Compact(&compact, in["real-shaped 300"]); err != nil {
		t.Fatal(err)
	}
	in["real-shaped 300, compact"] = compact.Bytes()
	return in
}

// TestDecodeSnapshot checks that the fast path takes what Docker prints and
// decodes it exactly as encoding/json does, on one core and split between
// several (small chunks force many split points, some of them wrong in the
// compact input).
func TestDecodeSnapshot(t *testing.T) {
	for name, data := range snapshotInputs(t) {
		want, err := readSnapshotStd(data)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", name, err)
		}
		for _, w := range []int{1, 2, 3, 8} {
			got, err := decodeSnapshot(data, w, 1000)
			if err != nil {
				t.Errorf("%s, %d workers: the fast path gave up: %v", name, w, err)
				continue
			}
			if !sameContainers(got, want) {
				t.Errorf("%s, %d workers: differs from encoding/json", name, w)
			}
		}
	}
}

// TestDecodeSnapshotFields checks, field by field, that the fast path fills
// what FromInspect reads, including the rproxy label: a field FromInspect
// starts to read that the fast path does not fill makes the fixture's
// comparison in TestDecodeSnapshot fail, and this test names it.
func TestDecodeSnapshotFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "inspect-real.json"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := decodeSnapshot(data, 1, minChunk)
	if err != nil || len(cs) != 1 {
		t.Fatalf("fast path: %v, %d containers", err, len(cs))
	}
	c := cs[0]
	if c.ID != "696b9c99bd1fd1ffad347a347a158303c2b12d7fe310f1de200963ef49c4c8bd" || c.Name != "shop-web-1" ||
		c.Created.IsZero() || !c.Running || c.Health != "healthy" ||
		!strings.HasPrefix(c.RProxy, "http://shop.example.com") || len(c.Networks) != 2 {
		t.Errorf("fixture decoded as %+v", c)
	}
	d := decoder{data: data[bytes.IndexByte(data, '{'):], depth: 1}
	var ir container.InspectResponse
	if err := d.element(&ir); err != nil {
		t.Fatal(err)
	}
	if n := len(ir.Config.Labels); n != 15 || ir.Config.Labels["rproxy"] != "tcp://shop-metrics:9100" || len(ir.Config.Env) != 10 {
		t.Errorf("Config: %d labels (rproxy=%q), %d env entries; want 15, the rproxy label, 10",
			n, ir.Config.Labels["rproxy"], len(ir.Config.Env))
	}
	for name, ep := range ir.NetworkSettings.Networks {
		if ep == nil || ep.IPAddress == "" {
			t.Errorf("network %s: no address", name)
		}
	}
}

// TestReadSnapshotErrors pins the errors for input that is not a
// docker-inspect array: the fast path leaves it to encoding/json, so
// ReadSnapshot says exactly what it said before the fast path existed
// (readSnapshotStd is that old code).
func TestReadSnapshotErrors(t *testing.T) {
	const p = "decode docker-inspect snapshot: "
	deep := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	tests := []struct{ in, want string }{
		{`[`, p + "unexpected end of JSON input"},
		{`[{"Id": "a"}`, p + "unexpected end of JSON input"},
		{`[{"Id": "a",}]`, p + "invalid character '}' looking for beginning of object key string"},
		{`[{"Id": "a"}] x`, p + "invalid character 'x' after top-level value"},
		{`[{"Id": "a"},]`, p + "invalid character ']' looking for beginning of value"},
		{`[{"Id": "a" "Name": "b"}]`, p + "invalid character '\"' after object key:value pair"},
		{"[{\"Id\": \"a\x01\"}]", p + "invalid character '\\x01' in string literal"},
		{`[{"Id": "a\q"}]`, p + "invalid character 'q' in string escape code"},
		{`[{"Id": "a\u12G4"}]`, p + "invalid character 'G' in \\u hexadecimal character escape"},
		{`[{"Id": "a", "HostConfig": {"Memory": 01}}]`, p + "invalid character '1' after object key:value pair"},
		{`[{"Id": "a", "HostConfig": {"Memory": 1.}}]`, p + "invalid character '}' after decimal point in numeric literal"},
		{`[{"Id": "a", "HostConfig": {"Memory": -}}]`, p + "invalid character '}' in numeric literal"},
		{`[{"Id": "a", "HostConfig": {"Memory": 1e}}]`, p + "invalid character '}' in exponent of numeric literal"},
		{`[{"Id": "a", "State": {"Running": tru}}]`, p + "invalid character '}' in literal true (expecting 'e')"},
		{`[{"Id": "a", "State": {"Running": nul}}]`, p + "invalid character '}' in literal null (expecting 'l')"},
		{`[{"Id": 5}]`, p + "json: cannot unmarshal number into Go struct field InspectResponse.ContainerJSONBase.Id of type string"},
		{`[{"Id": "a", "State": {"Running": "yes"}}]`, p + "json: cannot unmarshal string into Go struct field State.ContainerJSONBase.State.Running of type bool"},
		{`[{"Id": "a", "Config": {"Env": [1]}}]`, p + "json: cannot unmarshal number into Go struct field Config.Config.Env of type string"},
		{`[{"Id": "a", "NetworkSettings": {"Networks": {"n": 5}}}]`, p + "json: cannot unmarshal number into Go struct field NetworkSettings.NetworkSettings.Networks of type network.EndpointSettings"},
		{`[1]`, p + "json: cannot unmarshal number into Go value of type container.InspectResponse"},
		{`[null]`, p + "item 0 is not a container"},
		{`[{}]`, p + "item 0 is not a container"},
		{`[{"Config": {"Env": []}}]`, p + "item 0 is not a container"},
		{`[{"Id": "a"}, {"Id": "b"}, null]`, p + "item 2 is not a container"},
		{`[null, {"Id": "b"}, {"Id": 5}]`, p + "json: cannot unmarshal number into Go struct field InspectResponse.ContainerJSONBase.Id of type string"},
		{`[null, {"Id": "b"` + "\x00" + `}]`, p + "invalid character '\\x00' after object key:value pair"},
		{deep, p + "invalid character '[' exceeded max depth"},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			_, oldErr := readSnapshotStd([]byte(tt.in))
			if oldErr == nil || oldErr.Error() != tt.want {
				t.Fatalf("before (encoding/json): %v\nwant %s", oldErr, tt.want)
			}
			_, err := ReadSnapshot([]byte(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("after: %v\nwant %s", err, tt.want)
			}
			if _, err := decodeSnapshot([]byte(tt.in), 2, 1); !errors.Is(err, errBail) {
				t.Errorf("the fast path did not give up: %v", err)
			}
		})
	}
}

// TestDecodeSnapshotGivesUp lists valid input the fast path leaves to
// encoding/json because encoding/json would merge, reuse or match it in
// ways the fast path does not copy; ReadSnapshot still decodes it exactly
// as encoding/json does.
func TestDecodeSnapshotGivesUp(t *testing.T) {
	tests := []struct {
		name, in string
		want     model.Container
	}{
		{"key in another case", `[{"id": "a", "Name": "/n"}]`, model.Container{ID: "a", Name: "n"}},
		{"key with an escape", `[{"\u0049d": "a"}]`, model.Container{ID: "a"}},
		{"Kelvin sign folds to k", `[{"Id": "a", "NetworkSettings": {"Networ` + "\u212a" + `s": {"n": {"IPAddress": "10.0.0.1"}}}}]`,
			model.Container{ID: "a"}},
		{"long s folds to s", `[{"Id": "a", "` + "\u017f" + `tate": {"Running": true}}]`, model.Container{ID: "a"}},
		{"second Env reuses the first's array", `[{"Id": "b", "Config": {"Env": ["RPROXY=x"]}, "Config": {"Env": [null]}}]`,
			model.Container{ID: "b", RProxy: "x"}},
		{"element not a container", `[{"Id": "a"}, {}]`, model.Container{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.in)
			if _, err := decodeSnapshot(data, 1, minChunk); !errors.Is(err, errBail) {
				t.Fatalf("fast path took it: %v", err)
			}
			want, wantErr := readSnapshotStd(data)
			got, err := ReadSnapshot(data)
			if !sameContainers(got, want) || (err == nil) != (wantErr == nil) {
				t.Fatalf("ReadSnapshot: %+v, %v; encoding/json: %+v, %v", got, err, want, wantErr)
			}
			if tt.want.ID != "" && (len(got) != 1 || got[0].ID != tt.want.ID || got[0].Name != tt.want.Name || got[0].RProxy != tt.want.RProxy) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeSnapshotExact lists valid input where encoding/json merges,
// keeps or replaces values in ways the fast path copies exactly.
func TestDecodeSnapshotExact(t *testing.T) {
	for _, in := range []string{
		`[{"Id": "a", "State": {"Running": true, "Paused": true}, "State": {"Paused": false}}]`,
		`[{"Id": "a", "State": {"Running": true}, "State": null}]`,
		`[{"Id": "a", "State": {"Running": true, "Health": {"Status": "healthy"}, "Health": null}}]`,
		`[{"Id": "a", "State": {"Running": true, "Health": {"Status": "healthy"}, "Health": {}}}]`,
		`[{"Id": "a", "Name": "/n", "Name": null, "Created": null}]`,
		`[{"Id": "a", "Config": {"Labels": {"rproxy": "tcp://x:1", "b": null}, "Labels": {"c": "d"}}}]`,
		`[{"Id": "a", "Config": {"Env": ["RPROXY=http://a.com"], "Labels": {"rproxy": "x"}}, "Config": {"Labels": null}}]`,
		`[{"Id": "a", "Config": {"Env": ["RPROXY=http://a.com", null, "RPROXY=http://b.com"]}}]`,
		`[{"Id": "a", "Config": {"Env": []}}, {"Id": "b", "Config": {"Env": null}}, {"Id": "c", "Config": null}]`,
		`[{"Id": "a", "NetworkSettings": {"Networks": {"x": null, "y": {"IPAddress": "10.0.0.1"}, "y": {}}}}]`,
		`[{"Id": "a", "NetworkSettings": {"Networks": {"x": {"IPAddress": "10.0.0.1"}}, "Networks": {"y": {"IPAddress": "10.0.0.2"}}}}]`,
		`[{"Id": "a", "NetworkSettings": {"Networks": {"x": {"IPAddress": "10.0.0.1"}}, "Networks": null}}]`,
		`[{"Id": "a\u00e9\ud800\n\"", "Name": "/café", "Config": {"Env": ["RPROXY=http://a.com/?a=1\u0026b=2"]}}]`,
		"[{\"Id\": \"\xff\xfe\", \"Name\": \"/\xc3\"}]",
		`[{"Id": "a", "HostConfig": {"Binds": ["/a:/b"], "K\u00e9y": {"\u0041": [1, -2.5e+3, true, false, null]}}, "Mounts": []}]`,
		`[ {"Id":"a"} , {"Id":"b"} ]`,
		`[{"Id": "a"}, {"Id": "b", "Id": "c"}]`,
	} {
		data := []byte(in)
		want, err := readSnapshotStd(data)
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", in, err)
		}
		for _, w := range []int{1, 2} {
			got, err := decodeSnapshot(data, w, 4)
			if err != nil {
				t.Errorf("%s: the fast path gave up", in)
			} else if !sameContainers(got, want) {
				t.Errorf("%s: fast path %+v\nencoding/json %+v", in, got, want)
			}
		}
	}
}

// sameContainers compares containers, their networks in any order (they
// come from a map).
func sameContainers(a, b []model.Container) bool {
	norm := func(cs []model.Container) []model.Container {
		out := make([]model.Container, len(cs))
		for i, c := range cs {
			c.Networks = slices.Clone(c.Networks)
			slices.SortFunc(c.Networks, func(x, y model.Network) int { return strings.Compare(x.Name, y.Name) })
			out[i] = c
		}
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestDecodeSnapshotLenient shows the one difference from encoding/json: a
// wrongly typed value in a field FromInspect does not read is ignored.
func TestDecodeSnapshotLenient(t *testing.T) {
	data := []byte(`[{"Id": "a", "Name": "/n", "HostConfig": 5, "State": {"Pid": "x", "Running": true}}]`)
	if _, err := readSnapshotStd(data); err == nil {
		t.Fatal("encoding/json took a number for HostConfig")
	}
	got, err := ReadSnapshot(data)
	if err != nil || len(got) != 1 || got[0].ID != "a" || got[0].Name != "n" || !got[0].Running {
		t.Fatalf("ReadSnapshot: %+v, %v", got, err)
	}
}

// readView holds only what the fast path reads, with the same JSON names
// and types, so that encoding/json can tell whether an error of its own
// comes from a field the fast path reads (tests only: the product decodes
// into container.InspectResponse).
type readView struct {
	*ViewBase
	Config *struct {
		Env    []string
		Labels map[string]string
	}
	NetworkSettings *struct {
		Networks map[string]*struct{ IPAddress string }
	}
}

// ViewBase is the embedded part of readView (container.ContainerJSONBase);
// exported because encoding/json cannot fill an embedded pointer to an
// unexported type.
type ViewBase struct {
	ID      string `json:"Id"`
	Created string
	Name    string
	State   *struct {
		Running, Paused, Restarting bool
		Health                      *struct{ Status string }
	}
}

// FuzzDecodeSnapshot compares the fast path with encoding/json on arbitrary
// input: where the fast path decodes, encoding/json decodes the same, or
// refuses only a wrongly typed field the fast path does not read; and
// ReadSnapshot always gives encoding/json's result or error otherwise.
func FuzzDecodeSnapshot(f *testing.F) {
	for _, data := range snapshotInputs(f) {
		if len(data) < 64<<10 {
			f.Add(data)
		}
	}
	for _, s := range []string{`[]`, `[null]`, `[{"Id":"a","Config":{"Env":["RPROXY=http://a.com"],"Labels":{"rproxy":"tcp://b:1"}}}]`,
		`[{"id":"a"}]`, `[{"Id":"a","HostConfig":5}]`, `[{"Id":"a\u00e9\ud800"}]`, "[{\"Id\":\"\xff\"}]",
		`[{"Id":"a","NetworkSettings":{"Networks":{"x":null,"y":{"IPAddress":"10.0.0.1"}}}},{"Id":"b"}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := readSnapshotStd(data)
		for _, w := range []int{1, 3} {
			got, err := decodeSnapshot(data, w, 8)
			if err != nil {
				if !errors.Is(err, errBail) {
					t.Fatalf("fast path: unexpected error %v", err)
				}
				continue
			}
			if wantErr != nil {
				// Only a bad value in a field the fast path does not read.
				var view []readView
				if err := json.Unmarshal(data, &view); err != nil {
					t.Fatalf("fast path took what encoding/json refuses: %v", wantErr)
				}
				continue
			}
			if !sameContainers(got, want) {
				t.Fatalf("%d workers: fast path %+v\nencoding/json %+v", w, got, want)
			}
		}
		if t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))); len(t) > 0 && t[0] == '{' {
			return // a snapshot object (--swarm): another decoder, see TestReadSnapshotObject
		}
		got, err := ReadSnapshot(data)
		switch {
		case wantErr == nil && (err != nil || !sameContainers(got, want)):
			t.Fatalf("ReadSnapshot %+v, %v; encoding/json %+v", got, err, want)
		case wantErr != nil && err != nil && err.Error() != wantErr.Error():
			t.Fatalf("ReadSnapshot error %q; encoding/json %q", err, wantErr)
		}
	})
}
