package cli

// The tests drive the command as the ds3d binary links it: every component
// and the SQLite bag storage.
import (
	_ "github.com/ds3d-go/ds3d-go/apps/components"
	_ "github.com/ds3d-go/ds3d-go/sensors/ros2/bag/db3"
)
