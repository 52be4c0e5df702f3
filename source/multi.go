package source

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rproxy-gen/rproxy-gen/model"
)

// Part is one source of a Multi: what watch.Source asks of a source.
type Part interface {
	Events(ctx context.Context, since time.Time) (<-chan string, <-chan error)
	Sync(ctx context.Context) error
	Refresh(ctx context.Context, keys []string) error
	Containers() []model.Container
	String() string
}

// Multi reads several sources as one, e.g. the plain containers of a daemon
// (Docker) and the services of the Swarm it manages (Swarm). Each part's
// refresh keys are tagged with the part's index, so Refresh hands every key
// back to the part that sent it. It is no safer for concurrent use than its
// parts.
type Multi struct {
	parts []Part
}

// NewMulti combines parts into one source.
func NewMulti(parts ...Part) *Multi { return &Multi{parts: parts} }

// String names the parts, for logs.
func (m *Multi) String() string {
	names := make([]string, len(m.parts))
	for i, p := range m.parts {
		names[i] = p.String()
	}
	return strings.Join(names, " + ")
}

// Events subscribes every part. The stream ends, for all parts, when one
// part's stream ends; the error channel then gets that part's error.
func (m *Multi) Events(ctx context.Context, since time.Time) (<-chan string, <-chan error) {
	ctx, cancel := context.WithCancel(ctx)
	keys := make(chan string, 64)
	done := make(chan error, 1)
	var once sync.Once
	end := func(err error) {
		once.Do(func() {
			done <- err
			cancel()
		})
	}
	var wg sync.WaitGroup
	for i, p := range m.parts {
		pk, perr := p.Events(ctx, since)
		tag := strconv.Itoa(i) + "/"
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case k, ok := <-pk:
					if !ok {
						end(<-perr)
						return
					}
					if !send(ctx, keys, tag+k) {
						end(ctx.Err())
						return
					}
				case err := <-perr:
					end(err)
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		cancel()
		close(keys)
	}()
	return keys, done
}

// Sync syncs every part; the first failure is returned.
func (m *Multi) Sync(ctx context.Context) error {
	for _, p := range m.parts {
		if err := p.Sync(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Refresh hands each key to the part that sent it (a key no part sent is
// ignored).
func (m *Multi) Refresh(ctx context.Context, keys []string) error {
	byPart := make([][]string, len(m.parts))
	for _, k := range keys {
		tag, key, _ := strings.Cut(k, "/")
		if i, err := strconv.Atoi(tag); err == nil && i >= 0 && i < len(m.parts) {
			byPart[i] = append(byPart[i], key)
		}
	}
	for i, ks := range byPart {
		if len(ks) == 0 {
			continue
		}
		if err := m.parts[i].Refresh(ctx, ks); err != nil {
			return err
		}
	}
	return nil
}

// Containers returns every part's containers.
func (m *Multi) Containers() []model.Container {
	var out []model.Container
	for _, p := range m.parts {
		out = append(out, p.Containers()...)
	}
	return out
}
