// Package db3 adds rosbag2's SQLite3 storage (.db3 files) to package bag:
// importing it for its side effect registers modernc.org/sqlite, a pure-Go
// SQLite, as the driver bag reads .db3 files with. It is a package of its
// own because that driver costs about 45 s of cold compile time and 7 MB of
// binary, which only programs that read .db3 bags should pay.
package db3

import (
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

func init() { bag.RegisterSQLiteDriver("sqlite") }
