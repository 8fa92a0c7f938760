package postgres

import "testing"

// TestEncoders checks the text-to-JSON encoders without a server (the
// datatype table checks them against one).
func TestEncoders(t *testing.T) {
	cases := []struct {
		name string
		enc  valueEncoder
		in   *string
		want string
	}{
		{"null", valueEncoder{enc: encNumber}, nil, "null"},
		{"integer", valueEncoder{enc: encNumber}, ptr("-42"), "-42"},
		{"numeric NaN", valueEncoder{enc: encNumeric}, ptr("NaN"), "null"},
		{"numeric infinity", valueEncoder{enc: encNumeric}, ptr("-Infinity"), "null"},
		{"float exponent", valueEncoder{enc: encFloat}, ptr("1.5e-07"), "1.5e-07"},
		{"bool false", valueEncoder{enc: encBool}, ptr("f"), "false"},
		{"string escapes", valueEncoder{enc: encString}, ptr("a\"b\\c\n\u2028"), `"a\"b\\c\n\u2028"`},
		{"json compacted", valueEncoder{enc: encJSON}, ptr("{\n  \"a\" : [1, 2]\n}"), `{"a":[1,2]}`},
		{"bytea", valueEncoder{enc: encBytea}, ptr(`\x00ff`), `"00ff"`},
		{"date", valueEncoder{enc: encDate}, ptr("2024-02-29"), `"2024-02-29"`},
		{"date BC", valueEncoder{enc: encDate}, ptr("0001-01-01 BC"), "null"},
		{"timestamp", valueEncoder{enc: encTimestamp}, ptr("2024-01-02 03:04:05"), `"2024-01-02T03:04:05Z"`},
		{"timestamptz fraction", valueEncoder{enc: encTimestamptz}, ptr("2024-01-02 03:04:05.5+00"), `"2024-01-02T03:04:05.5Z"`},
		{"timestamptz infinity", valueEncoder{enc: encTimestamptz}, ptr("infinity"), `"9999-12-31T23:59:59.999999Z"`},
		{"timestamp BC", valueEncoder{enc: encTimestamp}, ptr("0044-03-15 12:00:00 BC"), "null"},
		{"timetz hours", valueEncoder{enc: encTimetz}, ptr("10:00:00-07"), `"10:00:00-07:00"`},
		{"int array", valueEncoder{enc: encNumber, array: true, delim: ','}, ptr("{1,NULL,-3}"), "[1,null,-3]"},
		{"nested array", valueEncoder{enc: encNumber, array: true, delim: ','}, ptr("{{1,2},{3,4}}"), "[[1,2],[3,4]]"},
		{"array bounds", valueEncoder{enc: encNumber, array: true, delim: ','}, ptr("[0:1]={7,8}"), "[7,8]"},
		{"quoted elements", valueEncoder{enc: encString, array: true, delim: ','}, ptr(`{"a,b","q\"x","NULL",plain}`), `["a,b","q\"x","NULL","plain"]`},
		{"box delimiter", valueEncoder{enc: encString, array: true, delim: ';'}, ptr("{(1,1),(0,0);(2,2),(1,1)}"), `["(1,1),(0,0)","(2,2),(1,1)"]`},
		{"broken array kept as text", valueEncoder{enc: encNumber, array: true, delim: ','}, ptr("{1,2"), `"{1,2"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var in []byte
			if c.in != nil {
				in = []byte(*c.in)
			}
			if got := string(c.enc.appendJSON(nil, in)); got != c.want {
				t.Errorf("%q -> %s, want %s", in, got, c.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }
