// Package snapgen makes real-shaped docker-inspect snapshots for benchmarks:
// it takes one object that a real daemon printed (testdata/inspect-real.json,
// captured by the e2e test TestCaptureInspectFixture) and repeats it with
// varied IDs, names, addresses, endpoint IDs and RPROXY values, in the layout
// `docker inspect` prints. It is not part of the product.
package snapgen

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker/api/types/container"
)

// FixturePath is the committed fixture, relative to the repository root.
const FixturePath = "testdata/inspect-real.json"

// Generator repeats one docker-inspect object.
type Generator struct {
	parts []part // the object's text split at the values that vary
}

// part is literal text, or (when v >= 0) the value varying per object.
type part struct {
	lit string
	v   int
}

// Values that vary per object.
const (
	vID = iota
	vShortID
	vName
	vRProxy
	vIP1
	vIP2
	vMAC1
	vMAC2
	vEndpoint1
	vEndpoint2
	vSandbox
	nValues
)

// New parses a fixture: a docker-inspect array holding exactly one container
// with two networks, as TestCaptureInspectFixture writes it.
func New(fixture []byte) (*Generator, error) {
	var objs []container.InspectResponse
	if err := json.Unmarshal(fixture, &objs); err != nil {
		return nil, fmt.Errorf("snapgen: fixture: %w", err)
	}
	if len(objs) != 1 || objs[0].ContainerJSONBase == nil || objs[0].Config == nil || objs[0].NetworkSettings == nil {
		return nil, fmt.Errorf("snapgen: fixture must hold one container")
	}
	c := objs[0]
	var rproxy string
	for _, kv := range c.Config.Env {
		if v, ok := strings.CutPrefix(kv, "RPROXY="); ok {
			rproxy = v
		}
	}
	if rproxy == "" {
		return nil, fmt.Errorf("snapgen: fixture has no RPROXY")
	}
	var eps []string
	repl := map[string]int{
		c.ID:                            vID,
		c.ID[:12]:                       vShortID,
		strings.TrimPrefix(c.Name, "/"): vName,
		rproxy:                          vRProxy,
		c.NetworkSettings.SandboxID:     vSandbox,
	}
	if lbl := c.Config.Labels["rproxy"]; lbl != "" {
		repl[lbl] = vRProxy // the label says the same as the variable
	}
	names := make([]string, 0, 2)
	for n := range c.NetworkSettings.Networks {
		names = append(names, n)
	}
	if len(names) != 2 {
		return nil, fmt.Errorf("snapgen: fixture container must have two networks, has %d", len(names))
	}
	if names[0] > names[1] {
		names[0], names[1] = names[1], names[0]
	}
	for i, n := range names {
		ep := c.NetworkSettings.Networks[n]
		repl[ep.IPAddress] = vIP1 + i
		repl[ep.MacAddress] = vMAC1 + i
		repl[ep.EndpointID] = vEndpoint1 + i
		eps = append(eps, ep.EndpointID)
	}
	// Split the text of the one object (without the array's brackets) at
	// every occurrence of a varying value, longest values first.
	text := string(bytes.TrimSpace(fixture))
	text = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(text, "["), "]"))
	keys := make([]string, 0, len(repl))
	for k := range repl {
		if k != "" {
			keys = append(keys, k)
		}
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if len(keys[j]) > len(keys[i]) || len(keys[j]) == len(keys[i]) && keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	g := &Generator{}
	for len(text) > 0 {
		at, key := -1, ""
		for _, k := range keys {
			if i := strings.Index(text, k); i >= 0 && (at < 0 || i < at) {
				at, key = i, k
			}
		}
		if at < 0 {
			g.parts = append(g.parts, part{lit: text, v: -1})
			break
		}
		if at > 0 {
			g.parts = append(g.parts, part{lit: text[:at], v: -1})
		}
		g.parts = append(g.parts, part{v: repl[key]})
		text = text[at+len(key):]
	}
	return g, nil
}

// RProxy is the RPROXY value of object i: mostly distinct http hosts with
// two replicas each, every tenth pair with a path, every tenth object a tcp
// port.
func RProxy(i int) string {
	switch i % 10 {
	case 7:
		return fmt.Sprintf("http://app%d.example.com/api", i/2)
	case 9:
		return fmt.Sprintf("tcp://svc%d:%d", i, 20000+i%5000)
	}
	return fmt.Sprintf("http://app%d.example.com", i/2)
}

// values returns the varying values of object i.
func values(i int) [nValues]string {
	sum := sha256.Sum256([]byte(fmt.Sprint("rproxy-gen snapgen ", i)))
	id := hex.EncodeToString(sum[:])
	ep := func(salt string) string {
		s := sha256.Sum256([]byte(salt + id))
		return hex.EncodeToString(s[:])
	}
	var v [nValues]string
	v[vID] = id
	v[vShortID] = id[:12]
	v[vName] = fmt.Sprintf("app%d-web-%d", i/2, i%2+1)
	v[vRProxy] = RProxy(i)
	// 10.0.0.0/8 on the first network, 172.16.0.0/12 on the second; the
	// first two addresses of each are left out.
	a := i + 2
	v[vIP1] = fmt.Sprintf("10.%d.%d.%d", a>>16&255, a>>8&255, a&255)
	v[vIP2] = fmt.Sprintf("172.%d.%d.%d", 16+a>>16&15, a>>8&255, a&255)
	v[vMAC1] = fmt.Sprintf("02:42:0a:%02x:%02x:%02x", a>>16&255, a>>8&255, a&255)
	v[vMAC2] = fmt.Sprintf("02:42:ac:%02x:%02x:%02x", 16+a>>16&15, a>>8&255, a&255)
	v[vEndpoint1] = ep("ep1")
	v[vEndpoint2] = ep("ep2")
	v[vSandbox] = ep("sandbox")
	return v
}

// Write writes a snapshot of n objects to w as `docker inspect` prints it.
func (g *Generator) Write(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("[\n")
	for i := range n {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("    ")
		v := values(i)
		for _, p := range g.parts {
			if p.v < 0 {
				bw.WriteString(p.lit)
			} else {
				bw.WriteString(v[p.v])
			}
		}
	}
	bw.WriteString("\n]\n")
	return bw.Flush()
}

// Snapshot returns a snapshot of n objects.
func (g *Generator) Snapshot(n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n * (g.size() + 8))
	g.Write(&buf, n) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// size is the approximate size of one object.
func (g *Generator) size() int {
	n := 0
	for _, p := range g.parts {
		n += len(p.lit) + 16
	}
	return n
}
