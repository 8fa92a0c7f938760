package singer

import (
	"fmt"
	"strings"
	"testing"
)

// TestEachMemberAndElement: members with escaped keys and nested values
// as their exact raw bytes, elements with their index, and the errors of
// text that is not the container asked for.
func TestEachMemberAndElement(t *testing.T) {
	var got []string
	err := EachMember([]byte(` { "a" : 1.50 , "b\"\u00e9" :{"x":[1, "y"]},"c":null, "d":"s\n"} `), func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%s=%s", k, v))
		return nil
	})
	want := "a=1.50|b\"é={\"x\":[1, \"y\"]}|c=null|d=\"s\\n\""
	if err != nil || strings.Join(got, "|") != want {
		t.Errorf("members %q, %v; want %q", strings.Join(got, "|"), err, want)
	}
	got = got[:0]
	err = EachElement([]byte(`[ {"a":[]} ,2e3,"x", [ ] ]`), func(i int, v []byte) error {
		got = append(got, fmt.Sprintf("%d=%s", i, v))
		return nil
	})
	want = `0={"a":[]}|1=2e3|2="x"|3=[ ]`
	if err != nil || strings.Join(got, "|") != want {
		t.Errorf("elements %q, %v; want %q", strings.Join(got, "|"), err, want)
	}
	for _, bad := range []string{`[1]`, `{"a" 1}`, `{"a":1,}`, `{"a":tru}`} {
		if err := EachMember([]byte(bad), func(k, v []byte) error { return nil }); err == nil {
			t.Errorf("EachMember(%s): no error", bad)
		}
	}
	if err := EachElement([]byte(`{}`), func(int, []byte) error { return nil }); err == nil {
		t.Error("EachElement({}): no error")
	}
	stop := fmt.Errorf("stop")
	if err := EachElement([]byte(`[1,2]`), func(int, []byte) error { return stop }); err != stop {
		t.Errorf("fn's error: got %v", err)
	}
	s, err := AppendString([]byte("x"), []byte(`"a\"\u00e9\ud83d\ude00"`))
	if err != nil || string(s) != "xa\"é😀" {
		t.Errorf("AppendString: %q, %v", s, err)
	}
	if _, err := AppendString(nil, []byte(`"a" `)); err == nil {
		t.Error("AppendString with trailing data: no error")
	}
}
