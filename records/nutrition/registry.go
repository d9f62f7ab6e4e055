package nutrition

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"contigo/records"
)

// A Registry holds the rule set of each configured country and the default
// for the others.
type Registry struct {
	def       *RuleSet
	byCountry map[string]*RuleSet
}

// NewRegistry returns a registry with def (DefaultRuleSet when nil) and the
// given country rule sets; a later set for the same country wins.
func NewRegistry(def *RuleSet, sets ...*RuleSet) *Registry {
	if def == nil {
		def = DefaultRuleSet()
	}
	r := &Registry{def: def, byCountry: map[string]*RuleSet{}}
	for _, s := range sets {
		r.byCountry[s.Country] = s
	}
	return r
}

// For returns the rule set of country cc (upper case), or the default.
func (r *Registry) For(cc string) *RuleSet {
	if s, ok := r.byCountry[cc]; ok {
		return s
	}
	return r.def
}

// Countries returns the countries with their own rule set, sorted.
func (r *Registry) Countries() []string {
	out := make([]string, 0, len(r.byCountry))
	for cc := range r.byCountry {
		out = append(out, cc)
	}
	sort.Strings(out)
	return out
}

// LoadFS reads every "<CC>.json" in the root of fsys (CC an upper-case
// ISO 3166-1 alpha-2 code that must equal the file's "country") and an
// optional "default.json" replacing the built-in default; other files are
// ignored. It returns the first *ConfigError, with File set.
func LoadFS(fsys fs.FS) (*Registry, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("list rule sets: %w", err)
	}
	var def *RuleSet
	var sets []*RuleSet
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || path.Ext(name) != ".json" {
			continue
		}
		stem := strings.TrimSuffix(name, ".json")
		if stem != "default" && !isCC(stem) {
			continue
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read rule set %s: %w", name, err)
		}
		rs, err := ParseRuleSet(data)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				ce.File = name
			}
			return nil, err
		}
		if stem == "default" {
			def = rs
			continue
		}
		if rs.Country != stem {
			return nil, &ConfigError{File: name, Field: "country", Reason: "must equal the file name's country code", Kind: records.ErrInvalid}
		}
		sets = append(sets, rs)
	}
	return NewRegistry(def, sets...), nil
}

// LoadDir is LoadFS on the directory dir.
func LoadDir(dir string) (*Registry, error) { return LoadFS(os.DirFS(dir)) }

func isCC(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
