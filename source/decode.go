package source

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// The snapshot decoder. `docker inspect` prints about 7–13 KB per container,
// of which FromInspect reads a few dozen bytes; encoding/json builds every
// field, which made decoding most of a one-shot run. decodeSnapshot instead
// validates the whole input as JSON but fills only the fields FromInspect
// reads — into the same container.InspectResponse that live mode gets from
// the Docker client, so FromInspect stays the one conversion — and splits
// the top-level array between the cores.
//
// It is a fast path, not a second JSON semantics: whatever it is not sure to
// decode exactly as encoding/json would (an escaped or differently cased key
// of a field it reads, a null or a repeated key where encoding/json merges
// or reuses, a type it does not expect, invalid JSON, an element that is not
// a container) makes it give up, and ReadSnapshot decodes the input with
// encoding/json instead, which gives the same result or the same error as
// before. The one difference: a wrongly typed value in a field FromInspect
// does not read is ignored rather than refused. FuzzDecodeSnapshot compares
// both decoders on arbitrary input.

// errBail means: decode this input with encoding/json instead.
var errBail = errors.New("not decodable by the fast path")

// errSplit means: the split points between workers were not all element
// boundaries; decode on one core.
var errSplit = errors.New("split point is not an element boundary")

// maxDepth is encoding/json's nesting limit; deeper input is left to it.
const maxDepth = 10000

// minChunk is the least input worth a worker of its own.
const minChunk = 1 << 20

// decodeSnapshot decodes a docker-inspect array with up to workers
// goroutines, each given at least chunk bytes. errBail means the input needs
// encoding/json.
func decodeSnapshot(data []byte, workers, chunk int) ([]model.Container, error) {
	d := decoder{data: data}
	d.ws()
	if !d.consume('[') {
		return nil, errBail
	}
	d.ws()
	if d.peek() == ']' { // an empty array
		d.pos++
		if !d.end() {
			return nil, errBail
		}
		return []model.Container{}, nil
	}
	bounds := splitPoints(data, d.pos, workers, chunk)
	if len(bounds) > 2 {
		out, err := decodeChunks(data, bounds)
		if err != errSplit {
			return out, err
		}
	}
	return decodeChunk(data, d.pos, len(data))
}

// splitPoints returns the start of the first element, the starts of up to
// workers-1 later elements (guessed: decodeChunk verifies them) and the
// input's end.
func splitPoints(data []byte, first, workers, chunk int) []int {
	bounds := []int{first}
	n := min(workers, (len(data)-first)/max(chunk, 1))
	for k := 1; k < n; k++ {
		at := first + (len(data)-first)*k/n
		if at <= bounds[len(bounds)-1] {
			continue
		}
		if s := elementStart(data, at); s > bounds[len(bounds)-1] {
			bounds = append(bounds, s)
		}
	}
	return append(bounds, len(data))
}

// cliBoundary is what the docker CLI (and `rproxy-gen snapshot`) prints
// between two top-level objects.
var cliBoundary = []byte("\n    },\n    {")

// elementStart guesses the start of a top-level element at or after at:
// the docker CLI's boundary between objects, else any "}" "," "{" with
// whitespace between. It returns -1 when there is none.
func elementStart(data []byte, at int) int {
	if i := bytes.Index(data[at:], cliBoundary); i >= 0 {
		return at + i + len(cliBoundary) - 1
	}
	for i := at; i < len(data); i++ {
		if data[i] != '}' {
			continue
		}
		j := skipWS(data, i+1)
		if j < len(data) && data[j] == ',' {
			if k := skipWS(data, j+1); k < len(data) && data[k] == '{' {
				return k
			}
		}
	}
	return -1
}

// decodeChunks decodes the elements between bounds on one goroutine each.
// Each chunk but the last must end exactly with the "," before the next
// chunk's start; since the first chunk starts at a true element, that
// proves every split point was one.
func decodeChunks(data []byte, bounds []int) ([]model.Container, error) {
	n := len(bounds) - 1
	outs := make([][]model.Container, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { outs[k], errs[k] = decodeChunk(data, bounds[k], bounds[k+1]) })
	}
	wg.Wait()
	total := 0
	for k := range n {
		// Chunk k's start is proven once every chunk before it ended
		// exactly at the next one's start: its error, whichever, counts.
		if errs[k] != nil {
			return nil, errs[k]
		}
		total += len(outs[k])
	}
	out := make([]model.Container, 0, total)
	for _, o := range outs {
		out = append(out, o...)
	}
	return out, nil
}

// decodeChunk decodes the elements from start (an element's first byte)
// to end: either the input's end (the array's "]" and nothing but
// whitespace after it) or the start of the next chunk, which must follow
// this chunk's last element and its ",". A mismatch is errSplit.
func decodeChunk(data []byte, start, end int) ([]model.Container, error) {
	d := decoder{data: data, pos: start, depth: 1} // inside the array
	last := end == len(data)
	var out []model.Container
	for {
		var c container.InspectResponse
		if err := d.element(&c); err != nil {
			return nil, err
		}
		if c.ContainerJSONBase == nil {
			return nil, errBail // encoding/json's path names the item
		}
		out = append(out, FromInspect(c))
		d.ws()
		switch d.peek() {
		case ',':
			d.pos++
			d.ws()
			if !last && d.pos >= end {
				if d.pos == end {
					return out, nil
				}
				return nil, errSplit
			}
		case ']':
			if !last {
				return nil, errSplit
			}
			d.pos++
			if !d.end() {
				return nil, errBail
			}
			return out, nil
		default:
			if !last && d.pos >= end {
				return nil, errSplit
			}
			return nil, errBail
		}
	}
}

// decoder reads JSON from data at pos.
type decoder struct {
	data  []byte
	pos   int
	depth int
	stack []bool // skip's, kept for the next skip
	// strs shares the strings that repeat between containers (label keys
	// and values, environment entries, network names): one allocation
	// for all of them. Bounded, so unique strings cannot grow it forever.
	strs map[string]string
	// envCap and labelsCap size the next container's Env and Labels after
	// the last one's, so they are allocated once.
	envCap, labelsCap int
	// scratch holds the structs of the element being decoded: FromInspect
	// copies what it needs out of them (model.Container holds no Docker
	// types), so every element reuses them instead of leaving garbage.
	// Maps and slices, which FromInspect could keep, are new each time.
	scratch struct {
		base   container.ContainerJSONBase
		state  container.State
		health container.Health
		config container.Config
		ns     container.NetworkSettings
		eps    []network.EndpointSettings
		nep    int // eps used by this element
	}
}

// newEndpoint returns a zeroed endpoint from the scratch.
func (d *decoder) newEndpoint() *network.EndpointSettings {
	sc := &d.scratch
	if sc.nep == len(sc.eps) {
		sc.eps = append(sc.eps, network.EndpointSettings{})
	}
	ep := &sc.eps[sc.nep]
	*ep = network.EndpointSettings{}
	sc.nep++
	return ep
}

// maxShared bounds decoder.strs; strings longer than maxSharedLen are
// never shared.
const (
	maxShared    = 4096
	maxSharedLen = 128
)

// text returns b as a string, shared with an earlier equal one if any.
func (d *decoder) text(b []byte) string {
	if len(b) > maxSharedLen {
		return string(b)
	}
	if s, ok := d.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.strs == nil {
		d.strs = make(map[string]string, 256)
	}
	if len(d.strs) < maxShared {
		d.strs[s] = s
	}
	return s
}

func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

func (d *decoder) consume(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) ws() { d.pos = skipWS(d.data, d.pos) }

// end reports whether only whitespace is left.
func (d *decoder) end() bool {
	d.ws()
	return d.pos == len(d.data)
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ':
			// Indentation: eight spaces at a time.
			if i+8 <= len(data) && binary.LittleEndian.Uint64(data[i:]) == 0x2020202020202020 {
				i += 8
			} else {
				i++
			}
		case '\n', '\t', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// member moves to the next member of an object whose "{" is consumed and
// returns its key (without quotes), leaving pos at the value. more is false
// at the object's end. A key with escapes or bytes beyond ASCII is errBail:
// encoding/json's matching of such keys is left to it.
func (d *decoder) member(first bool) (key []byte, more bool, err error) {
	d.ws()
	if d.consume('}') {
		return nil, false, nil
	}
	if !first {
		if !d.consume(',') {
			return nil, false, errBail
		}
		d.ws()
	}
	start := d.pos + 1
	esc, ok := d.scanString()
	if !ok || esc {
		return nil, false, errBail
	}
	key = d.data[start : d.pos-1]
	d.ws()
	if !d.consume(':') {
		return nil, false, errBail
	}
	d.ws()
	return key, true, nil
}

// object runs f for every member of the object at pos; f must consume the
// value. A null value is errBail: the caller handles null before.
func (d *decoder) object(f func(key []byte) error) error {
	if !d.consume('{') {
		return errBail
	}
	d.depth++
	if d.depth > maxDepth {
		return errBail
	}
	for first := true; ; first = false {
		key, more, err := d.member(first)
		if err != nil {
			return err
		}
		if !more {
			d.depth--
			return nil
		}
		if err := f(key); err != nil {
			return err
		}
	}
}

// null consumes a null literal if there is one.
func (d *decoder) null() bool {
	if bytes.HasPrefix(d.data[d.pos:], []byte("null")) {
		d.pos += 4
		return true
	}
	return false
}

// skip consumes any value, checking that it is valid JSON. It is the
// decoder's hot loop (most of each object is skipped), so it walks nested
// values with an explicit stack instead of recursion.
func (d *decoder) skip() error {
	data, i := d.data, d.pos
	stack := d.stack[:0] // open containers: true for an object
	const (
		value = iota // a value is expected
		key          // a member's key is expected
		after        // a value ended
	)
	state := value
	for {
		switch state {
		case value:
			i = skipWS(data, i)
			if i >= len(data) {
				return errBail
			}
			switch c := data[i]; {
			case c == '{' || c == '[':
				stack = append(stack, c == '{')
				if d.depth+len(stack) > maxDepth {
					return errBail
				}
				i = skipWS(data, i+1)
				switch {
				case i < len(data) && data[i] == c+2: // '}' or ']': empty
					i++
					stack = stack[:len(stack)-1]
					state = after
				case c == '{':
					state = key
				}
			case c == '"':
				end, _, ok := scanString(data, i)
				if !ok {
					return errBail
				}
				i, state = end, after
			case c == 't' || c == 'f' || c == 'n':
				lit := "null"
				if c == 't' {
					lit = "true"
				} else if c == 'f' {
					lit = "false"
				}
				if !bytes.HasPrefix(data[i:], []byte(lit)) {
					return errBail
				}
				i, state = i+len(lit), after
			default:
				end, ok := scanNumber(data, i)
				if !ok {
					return errBail
				}
				i, state = end, after
			}
		case key:
			end, _, ok := scanString(data, i)
			if !ok {
				return errBail
			}
			i = skipWS(data, end)
			if i >= len(data) || data[i] != ':' {
				return errBail
			}
			i++
			state = value
		case after:
			if len(stack) == 0 {
				d.pos, d.stack = i, stack
				return nil
			}
			i = skipWS(data, i)
			if i >= len(data) {
				return errBail
			}
			object := stack[len(stack)-1]
			switch c := data[i]; {
			case c == ',':
				i = skipWS(data, i+1)
				if object {
					state = key
				} else {
					state = value
				}
			case object && c == '}' || !object && c == ']':
				i++
				stack = stack[:len(stack)-1]
			default:
				return errBail
			}
		}
	}
}

func (d *decoder) literal(s string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(s)) {
		return errBail
	}
	d.pos += len(s)
	return nil
}

// scanNumber returns the end of the JSON number at i:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(data []byte, i int) (end int, ok bool) {
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i < len(data) && data[i] == '0' {
		i++ // no more digits may follow a leading zero
	} else if digits() == 0 {
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return 0, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	return i, true
}

// plain marks the bytes a string may hold that need no further look.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainWord reports whether all eight bytes of x are plain (see plain).
func plainWord(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs } // high bit set where a byte of v is 0
	special := zero(x^(ones*'"')) | zero(x^(ones*'\\')) |
		(x-ones*0x20)&^x&highs | // bytes below 0x20 (exact only for bytes below 0x80, checked next)
		x&highs
	return special == 0
}

// scanString consumes the string at pos, checking escapes and control
// characters as encoding/json does. esc reports escapes or bytes beyond
// ASCII (which need encoding/json's unquoting).
func (d *decoder) scanString() (esc, ok bool) {
	end, esc, ok := scanString(d.data, d.pos)
	if ok {
		d.pos = end
	}
	return esc, ok
}

// scanString returns the end of the string at i; see decoder.scanString.
func scanString(data []byte, i int) (end int, esc, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false, false
	}
	i++
	for {
		// Eight plain bytes at a time (no quote, backslash, control
		// character or byte beyond ASCII), then one at a time.
		for i+8 <= len(data) && plainWord(binary.LittleEndian.Uint64(data[i:])) {
			i += 8
		}
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i >= len(data) {
			return 0, false, false
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(data) {
				return 0, false, false
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(data) {
					return 0, false, false
				}
				for _, h := range data[i+2 : i+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false, false
					}
				}
				i += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		default: // beyond ASCII: encoding/json accepts any byte here
			esc = true
			i++
		}
	}
}

// str decodes a string value; null leaves *dst alone, as encoding/json does.
func (d *decoder) str(dst *string) error {
	if d.null() {
		return nil
	}
	start := d.pos
	esc, ok := d.scanString()
	if !ok {
		return errBail
	}
	raw := d.data[start:d.pos]
	if !esc || utf8.Valid(raw) && bytes.IndexByte(raw, '\\') < 0 {
		*dst = d.text(raw[1 : len(raw)-1])
		return nil
	}
	// Escapes or invalid UTF-8: encoding/json's own unquoting.
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return errBail
	}
	*dst = s
	return nil
}

// boolean decodes a bool value; null leaves *dst alone.
func (d *decoder) boolean(dst *bool) error {
	switch {
	case d.null():
	case d.literal("true") == nil:
		*dst = true
	case d.literal("false") == nil:
		*dst = false
	default:
		return errBail
	}
	return nil
}

// other handles a member that is not read: a key that differs from a read
// field only in case (encoding/json would fill the field) is errBail, the
// rest is skipped.
func (d *decoder) other(key []byte, read ...string) error {
	for _, name := range read {
		if bytes.EqualFold(key, []byte(name)) {
			return errBail
		}
	}
	return d.skip()
}

// baseFields are the JSON names of container.ContainerJSONBase's fields: a
// member with one of these names makes encoding/json allocate the embedded
// pointer.
var baseFields = jsonNames(reflect.TypeFor[container.ContainerJSONBase]())

// jsonNames lists the JSON member names of a struct type's exported fields.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		names = append(names, name)
	}
	return names
}

// element decodes one top-level element: an object or null.
func (d *decoder) element(r *container.InspectResponse) error {
	if d.null() {
		return nil
	}
	sc := &d.scratch
	sc.nep = 0
	base := func() *container.ContainerJSONBase {
		if r.ContainerJSONBase == nil {
			sc.base = container.ContainerJSONBase{}
			r.ContainerJSONBase = &sc.base
		}
		return r.ContainerJSONBase
	}
	envSeen := false
	return d.object(func(key []byte) error {
		switch string(key) {
		case "Id":
			return d.str(&base().ID)
		case "Created":
			return d.str(&base().Created)
		case "Name":
			return d.str(&base().Name)
		case "State":
			b := base()
			if d.null() {
				b.State = nil
				return nil
			}
			if b.State == nil {
				sc.state = container.State{}
				b.State = &sc.state
			}
			return d.state(b.State)
		case "Config":
			if d.null() {
				r.Config = nil
				return nil
			}
			if r.Config == nil {
				sc.config = container.Config{}
				r.Config = &sc.config
			}
			return d.config(r.Config, &envSeen)
		case "NetworkSettings":
			if d.null() {
				r.NetworkSettings = nil
				return nil
			}
			if r.NetworkSettings == nil {
				sc.ns = container.NetworkSettings{}
				r.NetworkSettings = &sc.ns
			}
			return d.networkSettings(r.NetworkSettings)
		case "Mounts", "ImageManifestDescriptor":
			return d.skip()
		}
		for _, name := range baseFields {
			if string(key) == name {
				base()
				return d.skip()
			}
		}
		for _, name := range baseFields {
			if bytes.EqualFold(key, []byte(name)) {
				return errBail
			}
		}
		return d.other(key, "Config", "NetworkSettings", "Mounts", "ImageManifestDescriptor")
	})
}

func (d *decoder) state(s *container.State) error {
	return d.object(func(key []byte) error {
		switch string(key) {
		case "Running":
			return d.boolean(&s.Running)
		case "Paused":
			return d.boolean(&s.Paused)
		case "Restarting":
			return d.boolean(&s.Restarting)
		case "Health":
			if d.null() {
				s.Health = nil
				return nil
			}
			if s.Health == nil {
				d.scratch.health = container.Health{}
				s.Health = &d.scratch.health
			}
			return d.object(func(key []byte) error {
				if string(key) == "Status" {
					return d.str((*string)(&s.Health.Status))
				}
				return d.other(key, "Status")
			})
		}
		return d.other(key, "Running", "Paused", "Restarting", "Health")
	})
}

// config decodes Config.Env and Config.Labels. A second Env (encoding/json
// would decode into the first one's array) is errBail.
func (d *decoder) config(c *container.Config, envSeen *bool) error {
	return d.object(func(key []byte) error {
		switch string(key) {
		case "Env":
			if *envSeen {
				return errBail
			}
			*envSeen = true
			return d.stringSlice(&c.Env)
		case "Labels":
			if d.null() {
				c.Labels = nil
				return nil
			}
			if c.Labels == nil {
				c.Labels = make(map[string]string, d.labelsCap)
			}
			defer func() { d.labelsCap = max(d.labelsCap, len(c.Labels)) }()
			return d.stringMap(c.Labels)
		}
		return d.other(key, "Env", "Labels")
	})
}

// stringSlice decodes an array of strings (null elements are ""); null is a nil
// slice, [] an empty one.
func (d *decoder) stringSlice(dst *[]string) error {
	if d.null() {
		*dst = nil
		return nil
	}
	if !d.consume('[') {
		return errBail
	}
	d.ws()
	out := make([]string, 0, d.envCap)
	defer func() { d.envCap = max(d.envCap, len(out)) }()
	if d.consume(']') {
		*dst = out
		return nil
	}
	for {
		var s string
		if err := d.str(&s); err != nil {
			return err
		}
		out = append(out, s)
		d.ws()
		if d.consume(']') {
			*dst = out
			return nil
		}
		if !d.consume(',') {
			return errBail
		}
		d.ws()
	}
}

// stringMap decodes an object of strings into m (null values are "").
func (d *decoder) stringMap(m map[string]string) error {
	return d.object(func(key []byte) error {
		var v string
		if err := d.str(&v); err != nil {
			return err
		}
		m[d.text(key)] = v
		return nil
	})
}

func (d *decoder) networkSettings(ns *container.NetworkSettings) error {
	return d.object(func(key []byte) error {
		if string(key) != "Networks" {
			return d.other(key, "Networks")
		}
		if d.null() {
			ns.Networks = nil
			return nil
		}
		if ns.Networks == nil {
			ns.Networks = map[string]*network.EndpointSettings{}
		}
		return d.object(func(name []byte) error {
			if d.null() {
				ns.Networks[d.text(name)] = nil
				return nil
			}
			ep := d.newEndpoint()
			if err := d.object(func(key []byte) error {
				if string(key) == "IPAddress" {
					return d.str(&ep.IPAddress)
				}
				return d.other(key, "IPAddress")
			}); err != nil {
				return err
			}
			ns.Networks[d.text(name)] = ep
			return nil
		})
	})
}

// workers is how many goroutines decode a snapshot.
func workers() int { return runtime.GOMAXPROCS(0) }
