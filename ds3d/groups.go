package ds3d

// Config groups: keys many components share, declared once. A component
// config embeds a group (anonymously, without a toml tag) and its keys
// become the config's own, in place; a doc tag on the embedded field
// replaces the doc of a one-key group, so each component still says what
// its key holds:
//
//	type Config struct {
//		ds3d.InputGroup `doc:"key of the []Box3D boxes to filter"`
//		ds3d.OutputGroup
//		ds3d.PoolGroup
//		Threshold float64 `toml:"score_threshold" min:"0" max:"1" doc:"…"`
//	}
//
// Defaults are set as for any field (c.MemPoolSize = 4, or
// PoolGroup: ds3d.PoolGroup{MemPoolSize: 4} in a literal).

// PoolGroup is mem_pool_size: frames a component keeps in flight before it
// waits for one to come back (ds3d's mem_pool_size).
type PoolGroup struct {
	MemPoolSize int `toml:"mem_pool_size" min:"1" doc:"output frames in flight before the component waits for one to come back"`
}

// InputGroup is input_datamap_key: the datamap key a component reads.
type InputGroup struct {
	InputKey string `toml:"input_datamap_key" nonempty:"true" doc:"key of the input"`
}

// OutputGroup is output_datamap_key: the datamap key a component writes.
type OutputGroup struct {
	OutputKey string `toml:"output_datamap_key" nonempty:"true" doc:"key the output is stored under"`
}
