package bag

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// The SQLite driver is registered by package bag/db3: a pure-Go SQLite
// costs about 45 s of cold compile and 7 MB of binary, so only programs
// that read .db3 bags (ds3d) pay for it.
var (
	sqliteMu     sync.Mutex
	sqliteDriver string
)

// RegisterSQLiteDriver names the database/sql driver that opens SQLite3
// (.db3) bag files. Package github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3
// calls it; import that package for its side effect to read .db3 bags.
func RegisterSQLiteDriver(name string) {
	sqliteMu.Lock()
	sqliteDriver = name
	sqliteMu.Unlock()
}

func sqliteDriverName(path string) (string, error) {
	sqliteMu.Lock()
	defer sqliteMu.Unlock()
	if sqliteDriver == "" {
		return "", fmt.Errorf("bag %s: SQLite3 (.db3) storage is not built into this program (import _ \"github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3\")", path)
	}
	return sqliteDriver, nil
}

// db3Topic is one row of a .db3 file's topics table.
type db3Topic struct {
	name, typ string
	schema    *ros2.Schema
	schemaErr error
	checked   bool
	stored    string // the file's own definition, "" when it stores none
}

func (b *Bag) readDB3(path string, opts Options, idx *int, fn func(*Message) error) error {
	drv, err := sqliteDriverName(b.Path)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("db3 %s: %w", path, err)
	}
	// Read-only: a bag is never changed by reading it, and its folder may
	// be read-only.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro"}).String()
	db, err := sql.Open(drv, dsn)
	if err != nil {
		return fmt.Errorf("db3 %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tables := map[string]bool{}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return fmt.Errorf("db3 %s: not a readable SQLite3 file: %w", path, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("db3 %s: %w", path, err)
		}
		tables[n] = true
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("db3 %s: not a readable SQLite3 file: %w", path, err)
	}
	if !tables["topics"] || !tables["messages"] {
		return fmt.Errorf("db3 %s: no topics and messages tables: not a rosbag2 SQLite3 file", path)
	}

	// Definitions: newer files (rosbag2 Iron and later) store them.
	stored := map[string]string{}
	if tables["message_definitions"] {
		rows, err := db.Query(`SELECT topic_type, encoding, encoded_message_definition FROM message_definitions`)
		if err != nil {
			return fmt.Errorf("db3 %s: message_definitions: %w", path, err)
		}
		for rows.Next() {
			var typ, enc, text string
			if err := rows.Scan(&typ, &enc, &text); err != nil {
				rows.Close()
				return fmt.Errorf("db3 %s: message_definitions: %w", path, err)
			}
			if enc == "ros2msg" && strings.TrimSpace(text) != "" {
				stored[typ] = text
			}
		}
		if err := closeRows(rows); err != nil {
			return fmt.Errorf("db3 %s: message_definitions: %w", path, err)
		}
	}

	topics := map[int64]*db3Topic{}
	rows, err = db.Query(`SELECT id, name, type, serialization_format FROM topics`)
	if err != nil {
		return fmt.Errorf("db3 %s: topics: %w", path, err)
	}
	for rows.Next() {
		var id int64
		var t db3Topic
		var format string
		if err := rows.Scan(&id, &t.name, &t.typ, &format); err != nil {
			rows.Close()
			return fmt.Errorf("db3 %s: topics: %w", path, err)
		}
		if format != "cdr" {
			rows.Close()
			return fmt.Errorf("db3 %s: topic %s (%s): serialization_format %q is not CDR: refusing to decode it", path, t.name, t.typ, format)
		}
		t.stored = stored[t.typ]
		topics[id] = &t
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("db3 %s: topics: %w", path, err)
	}

	q := `SELECT topic_id, timestamp, data FROM messages`
	var where []string
	var args []any
	if opts.Topics != nil {
		var ids []string
		for id, t := range topics {
			for _, want := range opts.Topics {
				if t.name == want {
					ids = append(ids, fmt.Sprint(id))
				}
			}
		}
		if len(ids) == 0 {
			return nil
		}
		where = append(where, "topic_id IN ("+strings.Join(ids, ",")+")")
	}
	if opts.StartNanos > 0 {
		where = append(where, "timestamp >= ?")
		args = append(args, int64(min(opts.StartNanos, 1<<63-1)))
	}
	if opts.EndNanos > 0 {
		where = append(where, "timestamp < ?")
		args = append(args, int64(min(opts.EndNanos, 1<<63-1)))
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// rosbag2 plays a .db3 in timestamp order (it has an index on it);
	// the row id keeps equal timestamps in recording order.
	q += " ORDER BY timestamp, id"
	rows, err = db.Query(q, args...)
	if err != nil {
		return fmt.Errorf("db3 %s: messages: %w", path, err)
	}
	defer rows.Close()
	var m Message
	for rows.Next() {
		var tid, ts int64
		var data sql.RawBytes
		if err := rows.Scan(&tid, &ts, &data); err != nil {
			return fmt.Errorf("db3 %s: after message %d: %w", path, *idx, err)
		}
		t := topics[tid]
		if t == nil {
			return fmt.Errorf("db3 %s: message %d: topic id %d is not in the topics table", path, *idx, tid)
		}
		if ts < 0 {
			return fmt.Errorf("db3 %s: message %d on %s: negative timestamp %d", path, *idx, t.name, ts)
		}
		m = Message{File: path, Index: *idx, Topic: t.name, Type: t.typ, LogTime: uint64(ts), PublishTime: uint64(ts), Data: data}
		*idx++
		if !t.checked {
			t.checked = true
			t.schema, t.schemaErr = db3Schema(t, data, opts.Definitions)
		}
		m.schema = t.schema
		if t.schemaErr != nil {
			m.schemaErr = m.Errorf("%w", t.schemaErr)
		}
		if err := fn(&m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("db3 %s: after message %d: %w", path, *idx, err)
	}
	return nil
}

// db3Schema picks a topic's definition: the one the file stores, else
// the caller's (Options.Definitions), else the built-in one. rosbag2
// itself decodes with the installed message packages and some files store
// placeholder definitions, so a definition is taken only when the topic's
// first message is exactly as long as the definition says.
func db3Schema(t *db3Topic, first []byte, given func(string) (string, bool)) (*ros2.Schema, error) {
	var tried []string
	try := func(src, text string) *ros2.Schema {
		s, err := ros2.ParseSchema(t.typ, text)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s definition: %v", src, err))
			return nil
		}
		used, err := s.Skip(first)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s definition does not fit the first message: %v", src, err))
			return nil
		}
		if pad := len(first) - used; pad > 7 {
			tried = append(tried, fmt.Sprintf("%s definition covers %d of the first message's %d bytes", src, used, len(first)))
			return nil
		}
		return s
	}
	if t.stored != "" {
		if s := try("stored", t.stored); s != nil {
			return s, nil
		}
	}
	if given != nil {
		if text, ok := given(t.typ); ok {
			if s := try("given", text); s != nil {
				return s, nil
			}
		}
	}
	if text, ok := definitions(t.typ); ok {
		if s := try("built-in", text); s != nil {
			return s, nil
		}
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("the definition of %s is unknown: the file stores none (older .db3 files never do), it is not a built-in type and Options.Definitions has none", t.typ)
	}
	return nil, fmt.Errorf("no usable definition of %s: %s", t.typ, strings.Join(tried, "; "))
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
