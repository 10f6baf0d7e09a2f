// Package depth replays RGB-D sequences: a colour image (JPEG or PNG) and a
// registered 16-bit grayscale depth PNG per frame, paired by an association
// file — Redwood's rgbd.match ("depth/00000.png color/00000.jpg") or TUM
// RGB-D's associations.txt ("ts_rgb rgb/x.png ts_depth depth/x.png") — with
// pinhole intrinsics from an Open3D camera JSON or the config. The
// rgbd_file_loader component emits pooled DS3D::ColorFrame (u8 RGB/RGBA) and
// DS3D::DepthFrame (u16 [H,W], raw file units) frames with
// DS3D::DepthScaleUnit (metres per depth unit, 1/depth_scale) and the
// intrinsics under DS3D::Cam0_IntrinsicMatrix, which is what a depth→points
// filter needs. Colour decoding is sensors/camera's, so the faster decoder
// planned in core2d/decode reaches both loaders through one function.
package depth
