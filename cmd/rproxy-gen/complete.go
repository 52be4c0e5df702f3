package main

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rproxy-gen/rproxy-gen/config"
)

// registerCompletions gives every flag whose setting lists values (or takes
// a file) a shell completion of its values, from the setting declarations.
func registerCompletions(root *cobra.Command) {
	for _, d := range config.Defs() {
		if d.Values == nil && !d.Files {
			continue
		}
		d := d
		_ = root.RegisterFlagCompletionFunc(d.Name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return completeValue(d, toComplete)
		})
	}
}

// completeValue offers the setting's values that start with toComplete
// (any case), then, for a file setting, the files and directories that do.
func completeValue(d config.Def, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	directive := cobra.ShellCompDirectiveNoFileComp
	if d.Values != nil {
		for _, v := range d.Values() {
			word, _, _ := strings.Cut(v, "\t")
			if strings.HasPrefix(strings.ToLower(word), strings.ToLower(toComplete)) {
				out = append(out, v)
				if strings.HasSuffix(word, "=") {
					directive |= cobra.ShellCompDirectiveNoSpace
				}
			}
		}
	}
	if d.Files {
		dir, base := filepath.Split(toComplete)
		entries, _ := os.ReadDir(filepath.Clean("./" + dir))
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, base) || strings.HasPrefix(name, ".") && !strings.HasPrefix(base, ".") {
				continue
			}
			if e.IsDir() {
				out = append(out, dir+name+"/")
				directive |= cobra.ShellCompDirectiveNoSpace
			} else {
				out = append(out, dir+name)
			}
		}
	}
	return out, directive
}
