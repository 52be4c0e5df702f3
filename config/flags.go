package config

import (
	"encoding"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// value is a flag bound to a setting: Set validates with the setting's Check
// and stores the result in its field.
type value struct {
	def Def
	s   *Settings
	set bool // for lists: the default is replaced by the first Set
}

// Set validates and stores one value.
func (v *value) Set(text string) error {
	return assign(v.def, v.s, text, &v.set)
}

// assign checks text with the setting's Check and stores it in its field;
// appended for a list, except that the first value replaces the default.
func assign(d Def, s *Settings, text string, listSet *bool) error {
	if d.Check != nil {
		norm, err := d.Check(text)
		if err != nil {
			return err
		}
		text = norm
	}
	switch f := d.Field(s).(type) {
	case *string:
		*f = text
	case *bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q: want true or false", text)
		}
		*f = b
	case *[]string:
		if listSet != nil && !*listSet {
			*f = nil
			*listSet = true
		}
		*f = append(*f, text)
	case *time.Duration:
		d, err := time.ParseDuration(text)
		if err != nil {
			return fmt.Errorf("%q: want a duration like 30s or 1m", text)
		}
		*f = d
	case *int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("%q: want a whole number", text)
		}
		*f = n
	case encoding.TextUnmarshaler:
		return f.UnmarshalText([]byte(text))
	default:
		return fmt.Errorf("setting %s: unsupported type %T", d.Name, f)
	}
	return nil
}

// String shows the current value.
func (v *value) String() string {
	switch f := v.def.Field(v.s).(type) {
	case *string:
		return *f
	case *bool:
		return strconv.FormatBool(*f)
	case *[]string:
		if len(*f) == 0 {
			return "" // help shows no "(default [])"
		}
		return "[" + strings.Join(*f, ",") + "]"
	case *time.Duration:
		return f.String()
	case *int:
		return strconv.Itoa(*f)
	case fmt.Stringer:
		return f.String()
	}
	return ""
}

// Type names the value in help.
func (v *value) Type() string {
	if _, ok := v.def.Field(v.s).(*bool); ok {
		return "bool"
	}
	if v.def.Meta != "" {
		return v.def.Meta
	}
	return "string"
}

// Defaults returns Settings holding every default.
func Defaults() *Settings {
	s := &Settings{}
	for _, d := range Defs() {
		if d.Default != "" {
			if err := assign(d, s, d.Default, nil); err != nil {
				panic(fmt.Sprintf("default of --%s: %v", d.Name, err)) // a bug in Defs
			}
		}
	}
	return s
}

// AddFlags registers on fs the flags of the settings with the given scope,
// bound to s (which should start from Defaults).
func AddFlags(fs *pflag.FlagSet, scope Scope, s *Settings) {
	for _, d := range Defs() {
		if d.Scope != scope {
			continue
		}
		f := fs.VarPF(&value{def: d, s: s}, d.Name, d.Short, d.Usage)
		if _, ok := d.Field(s).(*bool); ok {
			f.NoOptDefVal = "true"
		}
	}
}
