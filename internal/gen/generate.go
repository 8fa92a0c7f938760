package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/singerkit/singerkit/internal/cli"
	"github.com/singerkit/singerkit/internal/config"
	"github.com/singerkit/singerkit/singer"

	"github.com/spf13/cobra"
)

// This file is `singer gen`, a generator of synthetic Singer streams for
// benchmarks and tests, and its hidden companion `singer gen bench-decode`,
// which measures how fast the protocol layer reads such a stream (see
// scripts/bench.sh).

// genOptions are the flags of `singer gen`.
type genOptions struct {
	records    int64
	stateEvery int64
	shape      string
	seed       uint64
	streams    int
	stream     string
	columns    int
}

func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &genOptions{}
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write a synthetic Singer stream to stdout (for benchmarks and tests)",
		Long: `Write a synthetic, deterministic Singer stream to stdout: one SCHEMA per
stream, then --records RECORDs spread over --streams streams, with a STATE
every --state-every records and one at the end.

Shapes:
  foundation  10 properties, about 280 bytes a line: integer key, strings,
              an integer, a boolean, a decimal (multipleOf 0.0001), a date-time,
              a date, a nested object and a nullable string
  flat        8 flat columns plus a decimal and a date-time (for target benchmarks)
  wide        --columns properties (50 by default): integer key, then strings,
              integers, decimals, booleans and date-times in turn
  text10k     integer key, a date-time and one text property of about 10 KB
  nested      integer key, a date-time and an object (a customer, a list of
              items, tags) that SQL targets keep as one JSON column`,
		Example: `  singer gen --records 1000000 > stream.jsonl
  singer gen --shape flat --streams 4 --seed 7 | target-postgres --config target.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.Usagef("gen takes no arguments, got %q", args)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGenerate(cmd.Context(), opts, stdout)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&opts.records, "records", 1000000, "number of RECORD messages")
	f.Int64Var(&opts.stateEvery, "state-every", 10000, "write a STATE after this many records (and one at the end)")
	f.StringVar(&opts.shape, "shape", "foundation", "record shape: "+strings.Join(genShapeNames(), " or "))
	f.Uint64Var(&opts.seed, "seed", 1, "random seed; the same seed gives the same bytes")
	f.IntVar(&opts.streams, "streams", 1, "spread the records round-robin over this many streams, named s1..sN")
	f.StringVar(&opts.stream, "stream", "", "stream name when --streams is 1 (default: the shape's, users or orders)")
	f.IntVar(&opts.columns, "columns", 50, "number of properties of --shape wide (2 to 1000)")
	cmd.AddCommand(newBenchDecodeCommand(stdout, stderr))
	cmd.AddCommand(newToCSVCommand(stdout, stderr))
	return cmd
}

func (o *genOptions) check() error {
	switch {
	case o.records < 0:
		return cli.Usagef("--records must be 0 or more, not %d", o.records)
	case o.stateEvery < 1:
		return cli.Usagef("--state-every must be 1 or more, not %d", o.stateEvery)
	case o.streams < 1:
		return cli.Usagef("--streams must be 1 or more, not %d", o.streams)
	case o.streams > 1 && o.stream != "":
		return cli.Usagef("use --stream or --streams, not both (several streams are named s1..sN)")
	case o.columns < 2 || o.columns > 1000:
		return cli.Usagef("--columns must be 2 to 1000, not %d", o.columns)
	}
	if genShapes[o.shape] == nil {
		return cli.Usagef("unknown --shape %q (known: %s)", o.shape, strings.Join(genShapeNames(), ", "))
	}
	return nil
}

// genShape is one kind of synthetic record: its schema and an encoder that
// appends the JSON object of record number i (0-based).
type genShape struct {
	stream       string // default stream name
	schema       string
	keys         []string
	bookmarkProp string
	appendRecord func(g *generator, b []byte, i int64) []byte
	// schemaFor, when set, makes the schema from the options (--columns).
	schemaFor func(o *genOptions) string
}

var genShapes = map[string]*genShape{
	"foundation": {
		stream: "users",
		schema: `{"type":"object","required":["id"],"properties":{` +
			`"id":{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807},` +
			`"name":{"type":["null","string"],"maxLength":100},` +
			`"email":{"type":["null","string"],"maxLength":254},` +
			`"count":{"type":["null","integer"],"minimum":-2147483648,"maximum":2147483647},` +
			`"vip":{"type":["null","boolean"]},` +
			`"amount":{"type":["null","number"],"multipleOf":0.0001},` +
			`"updated_at":{"type":["null","string"],"format":"date-time"},` +
			`"birthday":{"type":["null","string"],"format":"date"},` +
			`"address":{"type":["null","object"],"properties":{` +
			`"street":{"type":["null","string"]},"city":{"type":["null","string"]},"zip":{"type":["null","string"],"maxLength":10}}},` +
			`"note":{"type":["null","string"]}}}`,
		keys:         []string{"id"},
		bookmarkProp: "updated_at",
		appendRecord: appendFoundationRecord,
	},
	"flat": {
		stream: "orders",
		schema: `{"type":"object","required":["id"],"properties":{` +
			`"id":{"type":"integer"},` +
			`"customer":{"type":["null","string"]},` +
			`"email":{"type":["null","string"]},` +
			`"city":{"type":["null","string"]},` +
			`"quantity":{"type":["null","integer"]},` +
			`"paid":{"type":["null","boolean"]},` +
			`"score":{"type":["null","number"]},` +
			`"sku":{"type":["null","string"],"maxLength":16},` +
			`"amount":{"type":["null","number"],"multipleOf":0.0001},` +
			`"updated_at":{"type":["null","string"],"format":"date-time"}}}`,
		keys:         []string{"id"},
		bookmarkProp: "updated_at",
		appendRecord: appendFlatRecord,
	},
	"wide": {
		stream:       "wide",
		keys:         []string{"id"},
		bookmarkProp: "updated_at",
		appendRecord: appendWideRecord,
		schemaFor:    wideSchema,
	},
	"text10k": {
		stream: "docs",
		schema: `{"type":"object","required":["id"],"properties":{` +
			`"id":{"type":"integer"},` +
			`"updated_at":{"type":["null","string"],"format":"date-time"},` +
			`"body":{"type":["null","string"]}}}`,
		keys:         []string{"id"},
		bookmarkProp: "updated_at",
		appendRecord: appendText10kRecord,
	},
	"nested": {
		stream: "events",
		schema: `{"type":"object","required":["id"],"properties":{` +
			`"id":{"type":"integer"},` +
			`"updated_at":{"type":["null","string"],"format":"date-time"},` +
			`"doc":{"type":["null","object"],"properties":{` +
			`"customer":{"type":"object","properties":{"name":{"type":"string"},"email":{"type":"string"},"city":{"type":"string"}}},` +
			`"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"},"qty":{"type":"integer"},"price":{"type":"number"}}}},` +
			`"tags":{"type":"array","items":{"type":"string"}},` +
			`"paid":{"type":"boolean"}}}}}`,
		keys:         []string{"id"},
		bookmarkProp: "updated_at",
		appendRecord: appendNestedRecord,
	},
}

// wideColumnTypes are the types of --shape wide's properties after id and
// updated_at, in turn.
var wideColumnTypes = []string{
	`{"type":["null","string"]}`,
	`{"type":["null","integer"]}`,
	`{"type":["null","number"]}`,
	`{"type":["null","boolean"]}`,
	`{"type":["null","string"],"format":"date-time"}`,
}

// wideSchema is --shape wide's schema: id, updated_at, then c3..cN.
func wideSchema(o *genOptions) string {
	var b strings.Builder
	b.WriteString(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer"},"updated_at":{"type":["null","string"],"format":"date-time"}`)
	for k := 3; k <= o.columns; k++ {
		fmt.Fprintf(&b, `,"c%d":%s`, k, wideColumnTypes[(k-3)%len(wideColumnTypes)])
	}
	b.WriteString(`}}`)
	return b.String()
}

func appendWideRecord(g *generator, b []byte, i int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i+1, 10)
	ts := g.updatedAt(i)
	b = append(b, `,"updated_at":`...)
	b = appendQuotedTimestamp(b, ts)
	for k := 3; k <= g.columns; k++ {
		b = append(b, `,"c`...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `":`...)
		switch (k - 3) % len(wideColumnTypes) {
		case 0:
			b = singer.AppendJSONString(b, genCities[g.intn(len(genCities))])
		case 1:
			b = strconv.AppendInt(b, int64(g.intn(1_000_000)), 10)
		case 2:
			b = g.appendDecimal(b)
		case 3:
			b = strconv.AppendBool(b, g.intn(2) == 0)
		default:
			b = appendQuotedTimestamp(b, ts-int64(g.intn(86400))*1_000_000)
		}
	}
	return append(b, '}')
}

// text10kBlock is the text the bodies of --shape text10k are cut from:
// words of the generator's lists, no character that JSON escapes.
var text10kBlock = func() []byte {
	var b []byte
	for k := 0; len(b) < 64<<10; k++ {
		b = append(b, genLastASCII[k*7%len(genLastASCII)]...)
		b = append(b, ' ')
		b = append(b, genFirstASCII[k*11%len(genFirstASCII)]...)
		b = append(b, ' ')
	}
	return b
}()

func appendText10kRecord(g *generator, b []byte, i int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i+1, 10)
	b = append(b, `,"updated_at":`...)
	b = appendQuotedTimestamp(b, g.updatedAt(i))
	n := 9216 + g.intn(2048) // 10 KB on average
	at := g.intn(len(text10kBlock) - n)
	b = append(b, `,"body":"`...)
	b = append(b, text10kBlock[at:at+n]...)
	return append(b, `"}`...)
}

func appendNestedRecord(g *generator, b []byte, i int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i+1, 10)
	b = append(b, `,"updated_at":`...)
	b = appendQuotedTimestamp(b, g.updatedAt(i))
	b = append(b, `,"doc":{"customer":{`...)
	b = g.appendPerson(b, `"name":`)
	b = append(b, `,"city":`...)
	b = singer.AppendJSONString(b, genCities[g.intn(len(genCities))])
	b = append(b, `},"items":[`...)
	for k := range 1 + g.intn(4) {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":"`...)
		b = append(b, genSKUPrefix[g.intn(len(genSKUPrefix))]...)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(100000+g.intn(900000)), 10)
		b = append(b, `","qty":`...)
		b = strconv.AppendInt(b, int64(1+g.intn(20)), 10)
		b = append(b, `,"price":`...)
		b = g.appendDecimal(b)
		b = append(b, '}')
	}
	b = append(b, `],"tags":[`...)
	for k := range g.intn(3) {
		if k > 0 {
			b = append(b, ',')
		}
		b = singer.AppendJSONString(b, genDomains[g.intn(len(genDomains))])
	}
	b = append(b, `],"paid":`...)
	b = strconv.AppendBool(b, g.intn(4) != 0)
	return append(b, "}}"...)
}

func genShapeNames() []string {
	names := make([]string, 0, len(genShapes))
	for n := range genShapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Word lists of the synthetic records. The ASCII forms feed the emails.
var (
	genFirstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Dennis", "Meg", "Linus", "Fran",
		"John", "Radia", "Donald", "Leslie", "Niklaus", "Sophie", "Tim", "Hedy", "Kate", "Guido",
		"José", "Zoë", "Björn", "Aoife", "Chloé", "Mateo", "Priya", "Wei", "Olu", "Noor"}
	genFirstASCII = []string{"ada", "grace", "alan", "edsger", "barbara", "ken", "dennis", "meg", "linus", "fran",
		"john", "radia", "donald", "leslie", "niklaus", "sophie", "tim", "hedy", "kate", "guido",
		"jose", "zoe", "bjorn", "aoife", "chloe", "mateo", "priya", "wei", "olu", "noor"}
	genLastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Ritchie", "Hamilton",
		"Torvalds", "Allen", "Carty", "Perlman", "Knuth", "Lamport", "Wirth", "Wilson", "Lee", "Lamarr",
		"Johnson", "Rossi", "Núñez", "Müller", "O'Brien", "Ørsted", "Sato", "Okafor", "Haddad", "Nowak"}
	genLastASCII = []string{"lovelace", "hopper", "turing", "dijkstra", "liskov", "thompson", "ritchie", "hamilton",
		"torvalds", "allen", "carty", "perlman", "knuth", "lamport", "wirth", "wilson", "lee", "lamarr",
		"johnson", "rossi", "nunez", "muller", "obrien", "orsted", "sato", "okafor", "haddad", "nowak"}
	genDomains = []string{"ex.com", "ex.org", "mail.test", "ex.net"}
	genStreets = []string{"Maple Ave", "Oak St", "Station Rd", "Rue Cler", "Hauptstraße", "High St",
		"Elm Ct", "Calle Mayor", "Mill Ln", "Park Dr"}
	genCities = []string{"Springfield", "Lyon", "München", "Osaka", "Lagos", "Toronto", "Valparaíso", "Bergen",
		"Austin", "Kraków", "Porto", "Nairobi", "Dublin", "Seattle"}
	// Notes include quotes, a backslash, a newline, a tab and non-ASCII, so
	// that decoders meet escapes.
	genNotes = []string{"VIP customer", "prefers email", `said "call me back"`, "line one\nline two",
		"tab\tseparated", `C:\Users\data`, "café ☕ on Fridays", "do not contact before 9am", "—", ""}
	genSKUPrefix = []string{"AB", "CX", "QZ", "LM", "TT", "PR"}
)

// genEpoch is the first updated_at; records are about 3 seconds apart.
var genEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// genBirthEpoch is the earliest birth_date (days since the Unix epoch).
var genBirthEpoch = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400

type generator struct {
	shape   *genShape
	columns int // --columns, for --shape wide
	rng     *rand.PCG
	rec     []byte
	scratch []byte
	lastTS  int64 // updated_at of the latest record, in Unix microseconds
}

func (g *generator) intn(n int) int { return int(g.rng.Uint64() % uint64(n)) }

// updatedAt is record i's updated_at: increasing with i, so it is a valid
// replication key.
func (g *generator) updatedAt(i int64) int64 {
	g.lastTS = genEpoch + (i*3+int64(g.rng.Uint64()%3))*1_000_000
	return g.lastTS
}

// appendQuotedTimestamp appends a whole-second UTC timestamp as a JSON
// string, 2024-01-02T03:04:05Z: what AppendTimestamp writes for it, without
// the cost of time.Format on the generator's hot path.
func appendQuotedTimestamp(b []byte, usec int64) []byte {
	t := time.UnixMicro(usec).UTC()
	b = append(b, '"')
	b = appendDate(b, t)
	h, m, s := t.Clock()
	b = append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), 'Z')
	return append(b, '"')
}

// appendDate appends t's date as YYYY-MM-DD (years 1000 to 9999).
func appendDate(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10))
}

// appendDecimal appends a JSON number with 2 to 4 fraction digits, exact for
// multipleOf 0.0001.
func (g *generator) appendDecimal(b []byte) []byte {
	if g.intn(20) == 0 {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, int64(g.intn(10000)), 10)
	b = append(b, '.')
	scale := 2 + g.intn(3)
	pow := [...]int64{100, 1000, 10000}[scale-2]
	// pow+frac has one more digit than the fraction: drop the leading 1 to
	// keep the fraction's leading zeros (7 at scale 3 is .007).
	mark := len(b)
	b = strconv.AppendInt(b, pow+int64(g.intn(int(pow))), 10)
	b = append(b[:mark], b[mark+1:]...)
	return b
}

// appendPerson appends the name and email members.
func (g *generator) appendPerson(b []byte, nameKey string) []byte {
	fi, li := g.intn(len(genFirstNames)), g.intn(len(genLastNames))
	g.scratch = append(g.scratch[:0], genFirstNames[fi]...)
	g.scratch = append(g.scratch, ' ')
	g.scratch = append(g.scratch, genLastNames[li]...)
	b = append(b, nameKey...)
	b = singer.AppendJSONBytes(b, g.scratch)
	g.scratch = append(g.scratch[:0], genFirstASCII[fi][0])
	g.scratch = append(g.scratch, genLastASCII[li]...)
	g.scratch = strconv.AppendInt(g.scratch, int64(g.intn(100)), 10)
	g.scratch = append(g.scratch, '@')
	g.scratch = append(g.scratch, genDomains[g.intn(len(genDomains))]...)
	b = append(b, `,"email":`...)
	return singer.AppendJSONBytes(b, g.scratch)
}

func appendFoundationRecord(g *generator, b []byte, i int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i+1, 10)
	b = g.appendPerson(b, `,"name":`)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(g.intn(10000)), 10)
	b = append(b, `,"vip":`...)
	b = strconv.AppendBool(b, g.intn(2) == 0)
	b = append(b, `,"amount":`...)
	b = g.appendDecimal(b)
	b = append(b, `,"updated_at":`...)
	b = appendQuotedTimestamp(b, g.updatedAt(i))
	b = append(b, `,"birthday":"`...)
	b = appendDate(b, time.Unix((genBirthEpoch+int64(g.intn(20000)))*86400, 0).UTC())
	b = append(b, `","address":{"street":`...)
	g.scratch = strconv.AppendInt(g.scratch[:0], int64(1+g.intn(999)), 10)
	g.scratch = append(g.scratch, ' ')
	g.scratch = append(g.scratch, genStreets[g.intn(len(genStreets))]...)
	b = singer.AppendJSONBytes(b, g.scratch)
	b = append(b, `,"city":`...)
	b = singer.AppendJSONString(b, genCities[g.intn(len(genCities))])
	b = append(b, `,"zip":"`...)
	zip := g.intn(100000)
	for d := 10000; d > 0; d /= 10 { // five digits, leading zeros kept
		b = append(b, byte('0'+zip/d%10))
	}
	b = append(b, `"},"note":`...)
	if n := g.intn(len(genNotes) * 4); n < len(genNotes) {
		b = singer.AppendJSONString(b, genNotes[n])
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func appendFlatRecord(g *generator, b []byte, i int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, i+1, 10)
	b = g.appendPerson(b, `,"customer":`)
	b = append(b, `,"city":`...)
	b = singer.AppendJSONString(b, genCities[g.intn(len(genCities))])
	b = append(b, `,"quantity":`...)
	b = strconv.AppendInt(b, int64(1+g.intn(500)), 10)
	b = append(b, `,"paid":`...)
	b = strconv.AppendBool(b, g.intn(4) != 0)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, float64(g.intn(10000))/100, 'f', -1, 64)
	b = append(b, `,"sku":"`...)
	b = append(b, genSKUPrefix[g.intn(len(genSKUPrefix))]...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(100000+g.intn(900000)), 10)
	b = append(b, `","amount":`...)
	b = g.appendDecimal(b)
	b = append(b, `,"updated_at":`...)
	b = appendQuotedTimestamp(b, g.updatedAt(i))
	return append(b, '}')
}

// generateStream writes the stream o describes to w.
func generateStream(ctx context.Context, o *genOptions, w io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	shape := genShapes[o.shape]
	names := make([]string, o.streams)
	for k := range names {
		names[k] = "s" + strconv.Itoa(k+1)
	}
	if o.streams == 1 {
		names[0] = shape.stream
		if o.stream != "" {
			names[0] = o.stream
		}
	}
	g := &generator{shape: shape, columns: o.columns, rng: rand.NewPCG(o.seed, 0x5eed_5147)}
	enc := singer.NewEncoder(w)
	schema := shape.schema
	if shape.schemaFor != nil {
		schema = shape.schemaFor(o)
	}
	for _, name := range names {
		err := enc.WriteSchema(singer.SchemaMessage{Stream: name, Schema: json.RawMessage(schema),
			KeyProperties: shape.keys, BookmarkProperties: []string{shape.bookmarkProp}})
		if err != nil {
			return err
		}
	}
	last := make([]int64, len(names)) // each stream's latest bookmark, 0 when none yet
	var state []byte
	writeState := func() error {
		state = append(state[:0], `{"bookmarks":{`...)
		first := true
		for k, name := range names {
			if last[k] == 0 {
				continue
			}
			if !first {
				state = append(state, ',')
			}
			first = false
			state = singer.AppendJSONString(state, name)
			state = append(state, `:{"replication_key":`...)
			state = singer.AppendJSONString(state, shape.bookmarkProp)
			state = append(state, `,"replication_key_value":`...)
			state = appendQuotedTimestamp(state, last[k])
			state = append(state, '}')
		}
		state = append(state, "}}"...)
		return enc.WriteState(state)
	}
	sinceState := int64(0)
	for i := int64(0); i < o.records; i++ {
		k := int(i % int64(len(names)))
		g.rec = shape.appendRecord(g, g.rec[:0], i)
		last[k] = g.lastTS
		if err := enc.WriteRecord(singer.RecordMessage{Stream: names[k], Record: g.rec}); err != nil {
			return err
		}
		if sinceState++; sinceState == o.stateEvery {
			sinceState = 0
			if err := writeState(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if sinceState > 0 || o.records == 0 {
		if err := writeState(); err != nil {
			return err
		}
	}
	return enc.Flush()
}

func runGenerate(ctx context.Context, o *genOptions, stdout io.Writer) error {
	if err := generateStream(ctx, o, stdout); err != nil {
		var ue *cli.UsageError
		if errors.As(err, &ue) || errors.Is(err, context.Canceled) {
			return err
		}
		return fmt.Errorf("writing the stream: %w", err)
	}
	return nil
}

// benchDecodeOptions are the flags of `singer gen bench-decode`.
type benchDecodeOptions struct {
	mode  string
	limit int64
}

// benchResult is the one JSON line bench-decode prints.
type benchResult struct {
	Mode        string  `json:"mode"`
	File        string  `json:"file"`
	Lines       int64   `json:"lines"`
	Records     int64   `json:"records"`
	Bytes       int64   `json:"bytes"`
	ElapsedS    float64 `json:"elapsed_s"`
	RecordsPerS float64 `json:"records_per_s"`
	CPUS        float64 `json:"cpu_s"`       // user+system CPU of the whole process, -1 when unknown
	PeakRSSKB   int64   `json:"peak_rss_kb"` // VmHWM, -1 when unknown
	Judged      int64   `json:"judged"`      // records the plan sent to the judge
	Invalid     int64   `json:"invalid"`
}

func newBenchDecodeCommand(stdout, _ io.Writer) *cobra.Command {
	opts := &benchDecodeOptions{}
	cmd := &cobra.Command{
		Use:    "bench-decode --mode floor|plan|judge FILE (- for stdin)",
		Short:  "Measure how fast a Singer stream file is read, decoded and validated (for make bench)",
		Hidden: true,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.Usagef("bench-decode needs one FILE argument, got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBenchDecode(cmd.Context(), opts, args[0], stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.mode, "mode", "plan", "floor (read lines), plan (decoder + schema plan, validating) or judge (decoder + jsonschema/v5 alone)")
	f.Int64Var(&opts.limit, "limit", 0, "stop after this many records (0: the whole file)")
	return cmd
}

func runBenchDecode(ctx context.Context, o *benchDecodeOptions, path string, stdout io.Writer) error {
	var run func(ctx context.Context, r io.Reader, limit int64, res *benchResult) error
	switch o.mode {
	case "floor":
		run = benchFloor
	case "plan":
		run = benchPlan
	case "judge":
		run = benchJudge
	default:
		return cli.Usagef("--mode must be floor, plan or judge, not %q", o.mode)
	}
	if o.limit < 0 {
		return cli.Usagef("--limit must be 0 or more, not %d", o.limit)
	}
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return cli.Usagef("cannot read %s: %v", path, config.WithoutPath(err))
		}
		defer f.Close()
		in = f
	}
	res := benchResult{Mode: o.mode, File: path}
	start := time.Now()
	runErr := run(ctx, in, o.limit, &res)
	elapsed := time.Since(start)
	if runErr != nil && res.Invalid == 0 {
		return runErr
	}
	res.ElapsedS = round3(elapsed.Seconds())
	if elapsed > 0 {
		res.RecordsPerS = float64(int64(float64(res.Records) / elapsed.Seconds()))
	}
	res.CPUS, res.PeakRSSKB = processCPUAndPeakRSS()
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return err
	}
	return runErr
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }

// benchFloor reads lines the way the Decoder does, and nothing else: the
// I/O floor every other mode is compared with. Each line counts as a record.
func benchFloor(ctx context.Context, r io.Reader, limit int64, res *benchResult) error {
	br := bufio.NewReaderSize(r, readBufferSize)
	for limit == 0 || res.Lines < limit {
		line, err := br.ReadSlice('\n')
		res.Bytes += int64(len(line))
		if len(line) > 0 && (err == nil || err == io.EOF) {
			res.Lines++
		}
		if err == io.EOF {
			break
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
		if res.Lines&0xFFFF == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	res.Records = res.Lines
	return nil
}

// benchStream is a stream's compiled schema and reused row.
type benchStream struct {
	schema *singer.Schema
	row    singer.Row
}

// benchDecode runs the Decoder over r and hands each RECORD with its
// stream's schema to validate; invalid records are counted and the first is
// returned as the error.
func benchDecode(ctx context.Context, r io.Reader, limit int64, res *benchResult, lazy bool,
	validate func(s *benchStream, record []byte) (judged bool, err error)) error {
	d := singer.NewDecoder(r)
	// As the SQL targets read: every record is decoded in place by its
	// plan (Decoder.OpenRecords), which checks its grammar once.
	d.OpenRecords = lazy
	streams := map[string]*benchStream{}
	var firstInvalid error
	for (limit == 0 || res.Records < limit) && d.Next() {
		m := d.Message()
		res.Bytes += int64(len(m.Raw)) + 1
		switch m.Type {
		case singer.TypeSchema:
			// A copy: the message's bytes are reused by the next line, and
			// CompileSchema's plan keeps slices of its input (min/max bounds,
			// enum values, Column.Raw).
			s, err := singer.CompileSchema(bytes.Clone(m.Schema), singer.SchemaOptions{})
			if err != nil {
				return fmt.Errorf("line %d: SCHEMA for stream %q: %w", m.Line, m.Stream, err)
			}
			streams[m.Stream] = &benchStream{schema: s}
		case singer.TypeRecord:
			s := streams[m.Stream]
			if s == nil {
				return fmt.Errorf("line %d: RECORD for stream %q before its SCHEMA", m.Line, m.Stream)
			}
			res.Records++
			var judged bool
			var err error
			if d.OpenRecords {
				// As the SQL targets do: decode in place, then finish the
				// envelope.
				var n int
				n, err = s.schema.DecodePrefix(m.Record, &s.row, true)
				judged = s.row.Judged
				if err == nil {
					err = d.FinishRecord(n)
				}
			} else {
				judged, err = validate(s, m.Record)
			}
			if judged {
				res.Judged++
			}
			if err != nil {
				res.Invalid++
				if firstInvalid == nil {
					firstInvalid = fmt.Errorf("line %d: stream %q: %w", m.Line, m.Stream, err)
				}
			}
		}
		if res.Records&0xFFFF == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	res.Lines = d.Line()
	if err := d.Err(); err != nil {
		return err
	}
	if firstInvalid != nil {
		return fmt.Errorf("%d of %d records failed validation; the first: %w", res.Invalid, res.Records, firstInvalid)
	}
	return nil
}

func benchPlan(ctx context.Context, r io.Reader, limit int64, res *benchResult) error {
	return benchDecode(ctx, r, limit, res, true, func(s *benchStream, record []byte) (bool, error) {
		err := s.schema.Decode(record, &s.row, true)
		return s.row.Judged, err
	})
}

func benchJudge(ctx context.Context, r io.Reader, limit int64, res *benchResult) error {
	return benchDecode(ctx, r, limit, res, false, func(s *benchStream, record []byte) (bool, error) {
		return true, s.schema.JudgeRaw(record)
	})
}

// processCPUAndPeakRSS reads the process's CPU time and peak resident set
// from /proc (Linux); -1 where it is unavailable.
func processCPUAndPeakRSS() (cpuS float64, peakKB int64) {
	cpuS, peakKB = -1, -1
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range bytes.Split(status, []byte("\n")) {
			if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
				fields := strings.Fields(string(rest))
				if len(fields) > 0 {
					if v, err := strconv.ParseInt(fields[0], 10, 64); err == nil {
						peakKB = v
					}
				}
			}
		}
	}
	// /proc/self/stat: utime and stime are fields 14 and 15, in clock ticks
	// (USER_HZ, 100 on Linux); the command name (field 2) may hold spaces,
	// so count from its closing parenthesis.
	if stat, err := os.ReadFile("/proc/self/stat"); err == nil {
		if i := bytes.LastIndexByte(stat, ')'); i >= 0 {
			fields := strings.Fields(string(stat[i+1:]))
			if len(fields) > 12 {
				u, err1 := strconv.ParseInt(fields[11], 10, 64)
				s, err2 := strconv.ParseInt(fields[12], 10, 64)
				if err1 == nil && err2 == nil {
					cpuS = float64(u+s) / 100
				}
			}
		}
	}
	return cpuS, peakKB
}

// readBufferSize is the read buffer of the decoder's floor: the decoder's own.
const readBufferSize = 1 << 20
