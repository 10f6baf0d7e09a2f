package ds3d

// KeyBatchMeta holds a 2D batch's metadata: the *meta.BatchMeta
// (core2d/meta) that stream_mux attaches to each batch datamap. FrameMeta i
// describes batch slot i — DS3D::ColorFrame_i and the per-slot keys
// downstream 2D components add (DS3D::Object2DBboxKey_i): its source id,
// frame number, PTS, NTP arrival time, source size and, as UserMeta, the
// transform from source to batch pixels. The value is shared by reference
// like every non-frame datamap value. It lives here, not in core2d/mux, so
// components that read batches (nvtracker_2d, the 2D→3D bridge) need not
// import the muxer.
const KeyBatchMeta Key = "DS3D::BatchMeta"
