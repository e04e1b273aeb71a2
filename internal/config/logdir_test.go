package config

import "testing"

func TestLogDirEmptyMeansStdout(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"Unset", map[string]string{}, "logs"},
		{"Empty", map[string]string{"LOG_DIR": ""}, ""},
		{"Blank", map[string]string{"LOG_DIR": "  "}, ""},
		{"Set", map[string]string{"LOG_DIR": "/var/log/sm"}, "/var/log/sm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromLookup(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if c.LogDir != tc.want {
				t.Fatalf("LogDir=%q, want %q", c.LogDir, tc.want)
			}
		})
	}
}
