// Package multisource holds multi_source, a loader that owns child loaders
// and gains and loses them while the pipeline runs — DeepStream's
// nvmultiurisrcbin, sources and their merge in one element. Each child
// (a uri_source camera, a lidar_file_loader list, a UDP lidar driver, any
// registered loader allowed by the config) runs on a goroutine the
// component owns; their datamaps interleave in arrival order, each stamped
// with its stream's DS3D::SourceId. Streams added at run time (the control
// API's POST /api/v1/streams) are built through the registry from a config
// table decoded and validated as the TOML loader does, after their paths,
// URI schemes, hosts and impl are vetted against the component's
// allowlists. A removed stream stops producing, waits until every frame it
// sent downstream has been let go (its frames travel as leased proxies, so
// the component sees each come back), and only then is closed, so its
// pools and buffers are never freed under a reader.
package multisource
