// Package camera replays image sequences — JPEG, PNG, or any format
// registered with image.RegisterFormat — as pooled 8-bit RGB or RGBA colour frames. The image_file_loader component
// takes, per camera, a timestamped list file (the TOML shape of
// sensors/lidar's lists) or a glob pattern, and emits every camera's frame k
// in one datamap (DS3D::ColorFrame, or DS3D::ColorFrame_N for several cameras).
// JPEG files decode through core2d/decode's JPEG (libjpeg-turbo with the
// turbojpeg build tag, image/jpeg otherwise) straight into the pooled
// frame; other formats through core2d/decode's Decode and ToFrame, which
// also writes into the caller's (pooled) frame. A camera's image
// size is fixed by its first file, so a size change mid-sequence is an error
// rather than a silent reallocation. Errors name the file, and the list file
// and line it came from.
package camera
