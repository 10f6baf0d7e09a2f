package main

// image_tensor: camera tensor preprocessing for fusion models (nvdspreprocess role).
import _ "github.com/ds3d-go/ds3d-go/filters/imagetensor"
