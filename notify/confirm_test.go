package notify

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rproxy-gen/rproxy-gen/haproxyapi"
)

// TestMasterConfirmerFake drives MasterConfirmer against a fake master
// socket (fast, and it can make HAProxy's master refuse a reload or never
// reload, which TestMasterConfirmer does with a real HAProxy only for the
// refusal): each outcome of "show proc" after the reload signal.
func TestMasterConfirmerFake(t *testing.T) {
	tests := []struct {
		name       string
		after      string // show proc once the reload was signalled
		reason     string // what the Reason function finds
		wantErr    error
		wantInText []string
	}{
		{"a new worker: confirmed", haproxyapi.FakeProcs(10, 4, 0, 200), "", nil, nil},
		{"refused, with HAProxy's reason", haproxyapi.FakeProcs(10, 4, 1, 100), "[ALERT] cannot bind socket",
			ErrReloadRefused, []string{"1 failed in a row", "old worker 100", "[ALERT] cannot bind socket"}},
		{"refused, no way to find the reason", haproxyapi.FakeProcs(10, 4, 1, 100), "",
			ErrReloadRefused, []string{"see HAProxy's log"}},
		{"no reload at all", haproxyapi.FakeProcs(10, 3, 0, 100), "", ErrNoReload, []string{"HAProxy's master"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			signalled := false
			path := filepath.Join(t.TempDir(), "master.sock")
			f, err := haproxyapi.StartFakeMaster(path, func(cmd string) string {
				mu.Lock()
				defer mu.Unlock()
				if cmd != "show proc" {
					return "Unknown command.\n"
				}
				if signalled {
					return tt.after
				}
				return haproxyapi.FakeProcs(10, 3, 0, 100)
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(f.Close)
			m, err := haproxyapi.NewMaster(path)
			if err != nil {
				t.Fatal(err)
			}
			timeout := 10 * time.Second // confirmed or refused: the first poll tells
			if errors.Is(tt.wantErr, ErrNoReload) {
				timeout = 100 * time.Millisecond
			}
			c := &MasterConfirmer{Master: m, Timeout: timeout}
			if tt.reason != "" {
				c.Reason = func(context.Context, time.Time) (string, error) { return tt.reason, nil }
			}
			wait, err := c.Begin(context.Background())
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			mu.Lock()
			signalled = true // the reload signal went out
			mu.Unlock()
			err = wait(context.Background())
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("wait: %v, want %v", err, tt.wantErr)
			}
			for _, s := range tt.wantInText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestParseCommands(t *testing.T) {
	if _, err := ParseCommand("kill -HUP $(cat {{.File}}.pid)"); err != nil {
		t.Errorf("ParseCommand with {{.File}}: %v", err)
	}
	if _, err := ParseGlobalCommand("systemctl reload haproxy"); err != nil {
		t.Errorf("ParseGlobalCommand: %v", err)
	}
	if _, err := ParseGlobalCommand("echo {{.File}}"); err == nil {
		t.Error("ParseGlobalCommand accepts {{.File}}, which a global notify cannot have")
	}
}
