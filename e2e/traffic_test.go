package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// answer is the outcome of one request of a traffic client.
type answer struct {
	client int // the index of the client that sent it
	code   int
	body   []byte
	err    error
	began  time.Time // when the request was sent
	local  string    // the client's end of the connection
}

// traffic sends GET http://addr/ with a Host header from its clients, each
// in a loop of its own, until end.
type traffic struct {
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// startTraffic starts one loop per client: each waits pause (none when 0),
// sends the request and hands the outcome to got, from the loop's
// goroutine, until end.
func startTraffic(addr, host string, clients []*http.Client, pause time.Duration, got func(answer)) *traffic {
	tr := &traffic{stop: make(chan struct{})}
	for i, client := range clients {
		tr.wg.Go(func() {
			defer client.CloseIdleConnections()
			for {
				if !tr.wait(pause) {
					return
				}
				a := answer{client: i, began: time.Now()}
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
				req.Host = host
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					GotConn: func(c httptrace.GotConnInfo) { a.local = c.Conn.LocalAddr().String() }}))
				resp, err := client.Do(req)
				if err == nil {
					a.code = resp.StatusCode
					a.body, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				a.err = err
				got(a)
			}
		})
	}
	return tr
}

// wait waits d, or only looks when d is 0, and reports whether the traffic
// goes on.
func (tr *traffic) wait(d time.Duration) bool {
	if d == 0 {
		select {
		case <-tr.stop:
			return false
		default:
			return true
		}
	}
	select {
	case <-tr.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// end stops the clients and waits for them; later calls return at once.
func (tr *traffic) end() {
	tr.once.Do(func() {
		close(tr.stop)
		tr.wg.Wait()
	})
}

// load sends requests to a host through the frontend until stopped, from
// clients that keep their connections alive and clients that open a new
// one for every request, and counts the answers that are not a 200 from a
// backend.
type load struct {
	*traffic
	ok, failed atomic.Int64
	mu         sync.Mutex
	errs       []string
}

func startLoad(addr, host string) *load {
	l := &load{}
	clients := make([]*http.Client, 4)
	for i := range clients {
		clients[i] = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy: nil, DisableKeepAlives: i%2 == 1, MaxIdleConnsPerHost: 1}}
	}
	l.traffic = startTraffic(addr, host, clients, 5*time.Millisecond, func(a answer) {
		err := a.err
		if err == nil && (a.code != 200 || !bytes.HasPrefix(a.body, []byte("name="))) {
			err = fmt.Errorf("status %d %q", a.code, a.body)
		}
		if err == nil {
			l.ok.Add(1)
			return
		}
		l.failed.Add(1)
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.errs) < 10 {
			l.errs = append(l.errs, fmt.Sprintf("%s (after %v, from %s) keep-alive=%v: %v", time.Now().Format("15:04:05.000"),
				time.Since(a.began).Round(time.Millisecond), a.local, a.client%2 == 0, err))
		}
	})
	return l
}

// end stops the load (once; later calls only read) and returns the answers
// that were right and wrong.
func (l *load) end() (ok, failed int64, errs []string) {
	l.traffic.end()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok.Load(), l.failed.Load(), l.errs
}
