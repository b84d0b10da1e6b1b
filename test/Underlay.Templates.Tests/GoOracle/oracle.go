// Command oracle renders every conformance case with Go's text/template and
// Sprig, and writes the results as the golden file the C# suite compares to.
// It is only needed to regenerate goldens (see regen.sh); tests never run it.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

type testCase struct {
	Name     string
	File     string
	Template string
	Data     string
	Options  map[string]string
	Extra    map[string]string // extra named templates: name -> text
}

type golden struct {
	Output *string `json:"output,omitempty"`
	Error  *string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: oracle CASES_DIR GOLDEN_FILE")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*.cases"))
	check(err)
	sort.Strings(files)
	results := map[string]golden{}
	for _, f := range files {
		cases, err := readCases(f)
		check(err)
		for _, c := range cases {
			if _, dup := results[c.Name]; dup {
				fmt.Fprintf(os.Stderr, "duplicate case %q in %s\n", c.Name, f)
				os.Exit(1)
			}
			if c.Options["go"] == "skip" {
				continue
			}
			results[c.Name] = run(c)
		}
	}
	out, err := json.MarshalIndent(results, "", "  ")
	check(err)
	check(os.WriteFile(os.Args[2], append(out, '\n'), 0o644))
	fmt.Printf("%d goldens written\n", len(results))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// readCases parses the "=== name" / "--- section" format described in README.md.
func readCases(path string) ([]*testCase, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cases []*testCase
	var cur *testCase
	section := ""
	var buf []string
	flush := func() {
		if cur == nil || section == "" {
			return
		}
		text := strings.Join(buf, "\n")
		switch {
		case section == "template":
			cur.Template = text
		case section == "data":
			cur.Data = text
		case section == "options":
			for _, f := range strings.Fields(text) {
				kv := strings.SplitN(f, "=", 2)
				if len(kv) == 2 {
					cur.Options[kv[0]] = kv[1]
				} else {
					cur.Options[kv[0]] = "true"
				}
			}
		case strings.HasPrefix(section, "define "):
			cur.Extra[strings.TrimPrefix(section, "define ")] = text
		}
		buf = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "=== "):
			flush()
			cur = &testCase{Name: strings.TrimSpace(line[4:]), File: path, Options: map[string]string{}, Extra: map[string]string{}}
			cases = append(cases, cur)
			section = ""
		case strings.HasPrefix(line, "--- ") && cur != nil:
			flush()
			section = strings.TrimSpace(line[4:])
		case strings.HasPrefix(line, "#") && section == "":
			// comment between cases
		default:
			if section != "" {
				buf = append(buf, line)
			}
		}
	}
	flush()
	return cases, sc.Err()
}

func run(c *testCase) (g golden) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprintf("panic: %v", r)
			g = golden{Error: &msg}
		}
	}()
	var data interface{}
	if strings.TrimSpace(c.Data) != "" {
		dec := json.NewDecoder(strings.NewReader(c.Data))
		dec.UseNumber()
		var raw interface{}
		if err := dec.Decode(&raw); err != nil {
			msg := "bad case data: " + err.Error()
			return golden{Error: &msg}
		}
		data = convert(raw, c.Options["numbers"] == "float")
	}
	t := template.New("t").Funcs(sprig.TxtFuncMap())
	if mk, ok := c.Options["missingkey"]; ok {
		t = t.Option("missingkey=" + mk)
	}
	names := make([]string, 0, len(c.Extra))
	for n := range c.Extra {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := t.New(n).Parse(c.Extra[n]); err != nil {
			msg := err.Error()
			return golden{Error: &msg}
		}
	}
	if _, err := t.Parse(c.Template); err != nil {
		msg := err.Error()
		return golden{Error: &msg}
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		msg := err.Error()
		return golden{Error: &msg}
	}
	s := out.String()
	return golden{Output: &s}
}

// convert turns decoded JSON into the values the C# side builds from the same
// text: whole numbers become Go int (float64 with numbers=float, as DRP params
// are), and single-key objects such as {"$int64": "5"} make other Go kinds.
func convert(v interface{}, floats bool) interface{} {
	switch x := v.(type) {
	case json.Number:
		if !floats {
			if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
				return int(i)
			}
		}
		f, _ := x.Float64()
		return f
	case []interface{}:
		for i := range x {
			x[i] = convert(x[i], floats)
		}
		return x
	case map[string]interface{}:
		if len(x) == 1 {
			for k, inner := range x {
				if strings.HasPrefix(k, "$") {
					return typed(k[1:], inner)
				}
			}
		}
		for k := range x {
			x[k] = convert(x[k], floats)
		}
		return x
	}
	return v
}

func typed(kind string, v interface{}) interface{} {
	s := fmt.Sprint(v)
	switch kind {
	case "int64":
		i, _ := strconv.ParseInt(s, 10, 64)
		return i
	case "int32":
		i, _ := strconv.ParseInt(s, 10, 32)
		return int32(i)
	case "uint":
		u, _ := strconv.ParseUint(s, 10, 64)
		return uint(u)
	case "uint8":
		u, _ := strconv.ParseUint(s, 10, 8)
		return uint8(u)
	case "uint64":
		u, _ := strconv.ParseUint(s, 10, 64)
		return u
	case "float64":
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case "float32":
		f, _ := strconv.ParseFloat(s, 32)
		return float32(f)
	case "bytes":
		return []byte(s)
	case "strings":
		var out []string
		for _, e := range v.([]interface{}) {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case "nil":
		return nil
	}
	panic("unknown typed value $" + kind)
}
