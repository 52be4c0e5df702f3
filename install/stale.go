package install

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RemoveStale removes staging directories of dest left behind by a process
// that was killed mid-write (kill -9 during a check): .NAME.stage-* beside
// dest. Call it at start-up, before any render, for every output. It returns
// the directories removed.
func RemoveStale(dest string) ([]string, error) {
	dir, prefix := filepath.Dir(dest), stagePrefix(dest)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("look for stale staging directories of %s: %w", dest, err)
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return removed, fmt.Errorf("remove stale staging directory %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}
