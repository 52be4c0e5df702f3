package config

import (
	"fmt"
	"strings"
)

// Markdown renders the reference tables of docs/config.md from the setting
// declarations: the top-level keys, then the keys of an outputs entry. A test
// keeps the document in step with it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| key | flag | default | meaning |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| `outputs` | `-t`, `-o`, `TEMPLATE [DEST]` | `haproxy` to stdout | what to render where: a list of entries, see below; `-t`, `-o` or arguments on the command line replace the whole list |\n")
	for _, d := range Defs() {
		if d.NoKey {
			continue
		}
		flag := "`--" + d.Name + "`"
		if d.Short != "" {
			flag = "`-" + d.Short + "`, " + flag
		}
		def := "none"
		if d.Default != "" {
			def = "`" + d.Default + "`"
		} else if _, ok := d.Field(&Settings{}).(*bool); ok {
			def = "`false`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", d.Key(), flag, def, meaning(d.Usage, d.Doc))
	}
	b.WriteString("\nEach entry of `outputs`:\n\n| key | default | meaning |\n|---|---|---|\n")
	b.WriteString("| `template` | required | a built-in template (`haproxy`, `nginx-stream`) or a template file (a value with a `/` is always a file) |\n")
	b.WriteString("| `dest` | stdout | the file to write, with its auxiliary files (HAProxy maps) beside it; empty or `-` is stdout, for one output at most; two outputs cannot share a `dest` |\n")
	for _, d := range Defs() {
		if d.Out == nil {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | the global `%s` | %s |\n", d.Key(), d.Key(), meaning(d.Usage, d.Doc))
	}
	return b.String()
}

func meaning(usage, doc string) string {
	if doc == "" {
		return escape(usage)
	}
	return escape(usage) + "; " + doc
}

// escape keeps a usage line from breaking a Markdown table.
func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
