package source

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/docker/api/types/filters"
)

// FilterKeys are the keys of Docker's container list filters (docker ps
// --filter), which --filter accepts.
var FilterKeys = []string{
	"ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task",
	"label", "name", "network", "publish", "since", "status", "volume",
}

// ParseFilters turns --filter values written as for docker ps --filter
// ("label=com.example.proxy=public", "network=apps") into filter
// arguments. Docker combines them: values of one key are alternatives
// (network=a, network=b: on either), except label, where every one must
// match; different keys must all match.
func ParseFilters(values []string) (filters.Args, error) {
	f := filters.NewArgs()
	for _, v := range values {
		key, val, err := ParseFilter(v)
		if err != nil {
			return filters.Args{}, err
		}
		f.Add(key, val)
	}
	return f, nil
}

// ParseFilter checks one --filter value, KEY=VALUE with a key Docker's
// container list knows, and splits it at the first "=".
func ParseFilter(v string) (key, value string, err error) {
	key, value, ok := strings.Cut(strings.TrimSpace(v), "=")
	key = strings.ToLower(strings.TrimSpace(key))
	switch {
	case !ok || key == "" || value == "":
		return "", "", fmt.Errorf("filter %q: want KEY=VALUE as for docker ps --filter, e.g. label=com.example.proxy=public or network=apps", v)
	case !slices.Contains(FilterKeys, key):
		return "", "", fmt.Errorf("filter %q: unknown key %q: want one of %s", v, key, strings.Join(FilterKeys, ", "))
	}
	return key, value, nil
}
